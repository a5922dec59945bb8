"""The library in a real browser: Mia adds a PDF deck for the "Contract sent" stage with the keyboard-reachable form and
submits it; Carol approves it from the review panel (htmx: the status, the actions and the published version
follow without a reload); the library and the asset's page pass axe-core at 1280 and 390 px, with screenshots."""

import os
import tempfile

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from smarketing.content.tests.files_fixtures import make_pdf

SHOTS = os.path.join(tempfile.gettempdir(), "shots")
VIEWPORTS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def serious(violations) -> list[str]:
    return [
        f"[{v['impact']}] {v['id']}: {v['help']} " + "; ".join(n["target"] for n in v["nodes"][:5])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def test_add_submit_approve_and_look_at_it_on_a_laptop_and_a_phone(live_server, browser, axe_source, settings):
    from smarketing.content.models import Asset, Status
    from smarketing.core.tests.test_a11y_browser import AXE_URL, log_in, run_axe, watch_console
    from smarketing.crm.defaults import default_pipeline
    from smarketing.testing import make_cast

    content_dir = tempfile.mkdtemp(prefix="smk-content-browser-")
    settings.STORAGES = {
        **settings.STORAGES,
        "content": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": content_dir}},
    }
    cast = make_cast()
    proposal = default_pipeline().stages.get(name="Contract sent")
    base = live_server.url
    os.makedirs(SHOTS, exist_ok=True)
    pdf = os.path.join(content_dir, "ACME case study.pdf")
    with open(pdf, "wb") as fh:
        fh.write(make_pdf())

    context = browser.new_context(viewport=VIEWPORTS["laptop"])
    page = context.new_page()
    page.route("**" + AXE_URL, lambda route: route.fulfill(path=axe_source, content_type="text/javascript"))
    errors = watch_console(page)
    problems = []

    log_in(page, base, cast["mia"].email)
    page.goto(base + reverse("content:library"))
    expect(page.get_by_role("heading", name="The library is empty")).to_be_visible()
    page.screenshot(path=os.path.join(SHOTS, "library_empty_1280.png"), full_page=True)
    problems += serious(run_axe(page, base))

    page.get_by_role("link", name="Add the first asset").click()
    page.locator("#id_title").fill("ACME case study")
    page.locator("#id_asset_type").select_option(label="Case study")
    page.get_by_label("Description").fill("How ACME doubled its pipeline in a quarter.")
    page.get_by_label("File", exact=True).set_input_files(pdf)
    page.get_by_role("group", name="Deal stages").get_by_label("Contract sent").check()
    page.get_by_role("group", name="Funnel stages").get_by_label("Opportunity").check()
    page.get_by_role("group", name="Reviewers").get_by_label("Carol Manager").check()
    problems += serious(run_axe(page, base))
    page.screenshot(path=os.path.join(SHOTS, "asset_form_1280.png"), full_page=True)
    page.get_by_role("button", name="Add the asset").click()
    expect(page.get_by_role("heading", name="ACME case study", level=1)).to_be_visible()
    page.get_by_role("button", name="Submit version 1 for review").click()
    expect(page.locator("#asset-status")).to_contain_text("In review")
    asset = Asset.objects.get(title="ACME case study")
    assert list(asset.deal_stages.all()) == [proposal]

    page.wait_for_load_state("networkidle")  # no fragment still loading sets a cookie after the next log-in page
    page.context.clear_cookies()
    log_in(page, base, cast["carol"].email)
    page.goto(base + reverse("content:asset_detail", args=[asset.pk]))
    page.wait_for_load_state("networkidle")  # htmx (deferred) has bound the review form
    page.locator("#review-comment").fill("Numbers checked with the customer.")
    page.get_by_role("button", name="Approve version 1").click()
    expect(page.locator("#asset-status")).to_contain_text("Approved")  # out of band, no reload
    expect(page.locator("#asset-current")).to_contain_text("Published version 1")
    expect(page.locator("#review-panel")).to_contain_text("Numbers checked with the customer.")
    asset.refresh_from_db()
    assert asset.status == Status.APPROVED and asset.published_version.number == 1
    page.wait_for_load_state("networkidle")
    page.screenshot(path=os.path.join(SHOTS, "asset_detail_1280.png"), full_page=True)
    problems += [f"detail: {p}" for p in serious(run_axe(page, base))]

    page.goto(base + reverse("content:library"))
    card = page.locator(".lib-card", has_text="ACME case study")
    expect(card).to_contain_text("Approved")
    page.wait_for_load_state("networkidle")
    thumb = card.locator("img")
    expect(thumb).to_have_count(1)
    assert page.evaluate("el => el.naturalWidth > 0", thumb.element_handle()), "the thumbnail did not load"
    page.screenshot(path=os.path.join(SHOTS, "library_1280.png"), full_page=True)
    problems += [f"library: {p}" for p in serious(run_axe(page, base))]

    # The filter bar narrows the list in place (htmx) and keeps the URL shareable.
    page.locator("#library-q").fill("nothing like it")
    expect(page.locator("#library-rows")).to_contain_text("No assets match")
    assert "q=nothing" in page.url

    page.set_viewport_size(VIEWPORTS["phone"])
    page.goto(base + reverse("content:library"))
    page.wait_for_load_state("networkidle")
    page.screenshot(path=os.path.join(SHOTS, "library_390.png"), full_page=True)
    problems += [f"library 390: {p}" for p in serious(run_axe(page, base))]
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the library scrolls sideways on a phone ({width} px)"
    page.goto(base + reverse("content:asset_detail", args=[asset.pk]))
    page.wait_for_load_state("networkidle")
    page.screenshot(path=os.path.join(SHOTS, "asset_detail_390.png"), full_page=True)
    problems += [f"detail 390: {p}" for p in serious(run_axe(page, base))]
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the asset's page scrolls sideways on a phone ({width} px)"
    context.close()
    assert not problems, "axe-core:\n" + "\n".join(problems)
    assert errors == [], "console errors:\n" + "\n".join(errors)
