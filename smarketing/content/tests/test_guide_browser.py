"""The stage panel in a real browser: Bob opens a deal in "Presentation scheduled"; the panel arrives by htmx after
the page with the stage's talking point and the approved asset; its Share button opens the share form for that
asset, contact and deal. Then the report shows the asset. Screenshots go to <tmp>/shots."""

import os
import tempfile

import pytest
from django.urls import reverse
from playwright.sync_api import expect

SHOTS = os.path.join(tempfile.gettempdir(), "shots")


def shoot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"guide_{name}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_rep_uses_the_stage_panel_during_a_call(live_server, browser):
    from smarketing.content.models import MessageKind, Persona
    from smarketing.content.tests.test_guide_panel import approved_asset, approved_message
    from smarketing.core.tests.test_a11y_browser import log_in, watch_console
    from smarketing.crm.defaults import default_pipeline
    from smarketing.testing import make_cast, make_contact, make_deal

    base = live_server.url
    cast = make_cast()
    stage = default_pipeline().stages.get(name="Presentation scheduled")
    cfo = Persona.objects.create(name="CFO", title_keywords="cfo, finance")
    contact = make_contact(first_name="Dana", last_name="Buyer", title="CFO")
    deal = make_deal(name="Buyer Corp", stage=stage, contacts=[contact])
    asset = approved_asset(cast["mia"], cast["alice"], "ROI study", deal_stages=[stage], personas=[cfo])
    approved_message(
        cast["mia"], cast["alice"], "Ask who signs off", kind=MessageKind.TALKING_POINT, deal_stages=[stage.pk]
    )

    page = browser.new_page()
    errors = watch_console(page)
    log_in(page, base, "bob@example.com")
    page.goto(base + reverse("deal_detail", args=[deal.pk]))
    panel = page.locator("#panel-content")
    expect(panel).to_contain_text("Ask who signs off")
    expect(panel).to_contain_text("ROI study")
    expect(panel).to_contain_text("Persona: CFO")
    shoot(page, "deal_panel")
    panel.get_by_role("link", name="Share “ROI study”").click()
    page.wait_for_url(f"**{reverse('content:share_new')}?asset={asset.pk}&contact={contact.pk}&deal={deal.pk}")
    page.goto(base + reverse("content:report"))
    expect(page.locator("#influence-table")).to_contain_text("ROI study")
    shoot(page, "report")
    page.goto(base + reverse("content:guide"))
    expect(page.locator("main")).to_contain_text("Ask who signs off")
    shoot(page, "guide")
    assert errors == []
