"""In a real browser: build a segment with a field condition and an activity condition, watch the live count
change as the conditions change, save it and see its members."""

import datetime
import os
import tempfile

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

SHOTS = os.path.join(tempfile.gettempdir(), "smarketing-shots")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_build_a_segment_with_live_count_and_save(live_server, page):
    from smarketing.segments.models import Segment
    from smarketing.testing import PASSWORD, make_cast, make_contact
    from smarketing.timeline.models import Team, Touchpoint

    make_cast()
    mqls = [make_contact(email=f"mql{i}@b.test", first_name=f"Mql{i}", lifecycle_stage="mql") for i in range(3)]
    make_contact(email="lead@b.test", first_name="Lead", lifecycle_stage="lead")
    now = timezone.now()
    for contact in mqls[:2]:  # two MQLs clicked twice in the last month; the third once
        for days in (2, 9):
            Touchpoint.objects.create(
                contact=contact,
                kind="email_clicked",
                team=Team.MARKETING,
                summary="Clicked",
                occurred_at=now - datetime.timedelta(days=days),
            )
    Touchpoint.objects.create(contact=mqls[2], kind="email_clicked", team=Team.MARKETING, summary="Clicked")
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", "mia@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.get_by_role("link", name="Segments").click()
    page.get_by_role("link", name="New segment").first.click()
    page.fill("#segment-name", "Engaged MQLs")
    count = page.locator("#segment-count")
    # The starting condition "Lifecycle stage is any of" waits for a value.
    expect(count).to_contain_text("choose at least one value")
    page.select_option("#n-0-values", ["mql"])
    expect(count.locator("[data-count]")).to_have_text("3")

    page.get_by_role("button", name="+ Activity").first.click()
    expect(page.locator("#n-1-kinds")).to_be_visible()
    page.select_option("#n-1-kinds", ["email_clicked"])
    page.fill("input[name='n-1.min_count']", "2")
    expect(count.locator("[data-count]")).to_have_text("2")
    page.screenshot(path=f"{SHOTS}-segment-builder-1280.png", full_page=True)

    # NOT on the whole tree flips it: everyone else.
    page.locator("input[name='n.negate']").check()
    expect(count.locator("[data-count]")).to_have_text("2")  # the third MQL and the lead
    page.locator("input[name='n.negate']").uncheck()
    expect(count.locator("[data-count]")).to_have_text("2")

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=f"{SHOTS}-segment-builder-390.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Save segment").click()
    expect(page.locator("h1")).to_contain_text("Engaged MQLs")
    expect(page.locator("[data-segment-count]")).to_have_text("2")
    expect(page.locator("#segment-members tbody tr")).to_have_count(2)
    page.screenshot(path=f"{SHOTS}-segment-detail-1280.png", full_page=True)
    segment = Segment.objects.get(name="Engaged MQLs")
    assert segment.last_count == 2

    # A static list, filled from the contact list's bulk action ("all matching" the filter), then used in a rule.
    page.get_by_role("link", name="Lists").click()
    page.get_by_role("link", name="New list").first.click()
    page.fill("#list-name", "Trade show")
    page.get_by_role("button", name="Create list").click()
    expect(page.locator("h1")).to_contain_text("Trade show")
    page.goto(live_server.url + reverse("contact_list") + "?lifecycle=mql")
    page.locator("input[data-select-all=ids]").check()  # the bulk bar shows once a row is ticked
    page.select_option("#bulk-list", label="Trade show")
    page.get_by_role("button", name="Add all matching").click()
    expect(page.locator("h1")).to_contain_text("Trade show")
    expect(page.locator("tbody tr")).to_have_count(3)
    page.screenshot(path=f"{SHOTS}-list-detail-1280.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=f"{SHOTS}-list-detail-390.png", full_page=True)
    assert errors == []
