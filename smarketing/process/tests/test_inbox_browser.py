"""The rep's handoff inbox in a real browser: Bob accepts one new lead and hands another back with a reason;
Mia from marketing then finds that reason in the handoff report, next to the source that produced the lead."""

import os
import tempfile

import pytest
from django.urls import reverse
from playwright.sync_api import expect

SHOTS = os.path.join(tempfile.gettempdir(), "shots")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_accept_one_reject_one_then_marketing_sees_the_reason(live_server, page):
    from smarketing.accounts.access import system_actor
    from smarketing.core.tests.test_a11y_browser import log_in
    from smarketing.crm.models import Contact
    from smarketing.crm.services.lifecycle import change_lifecycle_stage
    from smarketing.process import handoff
    from smarketing.process.defaults import install_reasons
    from smarketing.process.models import Handoff, HandoffStatus, RejectionReason
    from smarketing.testing import make_cast, make_contact

    base = live_server.url
    cast = make_cast()
    install_reasons(RejectionReason)
    bob = cast["bob"]
    leads = []
    for first, source in (("Ada", "referral"), ("Grace", "paid")):
        person = make_contact(first_name=first, last_name="Lead", owner=bob, last_source=source)
        change_lifecycle_stage(person, "mql", actor=system_actor(), origin="system")
        leads.append(handoff.start(person.pk, started_at=person.lifecycle_changed_at))
    assert [h.owner for h in leads] == [bob, bob]

    log_in(page, base, bob.email)
    page.goto(base + reverse("process:inbox"))
    page.wait_for_load_state("load")  # htmx (deferred) has bound the cards' forms
    ada, grace = (page.locator(f"#handoff-{h.pk}") for h in leads)
    expect(ada).to_contain_text("left")
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, "handoff_inbox.png"), full_page=True)

    ada.get_by_role("button", name="Accept").click()
    expect(ada).to_contain_text("now a sales-qualified lead")
    grace.locator("summary", has_text="Reject").click()
    grace.get_by_label("Why").select_option(label="Student, job seeker or personal use")
    grace.get_by_label("More (optional)").fill("Writing a thesis on CRMs")
    grace.get_by_role("button", name="Hand back to marketing").click()
    expect(grace).to_contain_text("went back to marketing")

    assert Contact.objects.get(pk=leads[0].contact_id).lifecycle_stage == "sql"
    rejected = Handoff.objects.get(pk=leads[1].pk)
    assert (rejected.status, rejected.reason_text) == (HandoffStatus.REJECTED, "Writing a thesis on CRMs")
    assert Contact.objects.get(pk=leads[1].contact_id).lifecycle_stage == "lead"

    page.context.clear_cookies()
    log_in(page, base, cast["mia"].email)
    page.goto(base + reverse("process:report"))
    table = page.locator("#rejection-table")
    expect(table).to_contain_text("Student, job seeker or personal use")
    expect(table).to_contain_text("Paid")
    expect(page.locator("#acceptance-table")).to_contain_text("Referral")
    page.screenshot(path=os.path.join(SHOTS, "handoff_report.png"), full_page=True)
