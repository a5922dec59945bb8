"""In a real browser: a marketing manager filters the contact list, exports it, and the downloaded CSV holds
exactly the filtered rows; then sorts by a header, chooses columns and saves the list as a view for her team."""

import csv
import io

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from smarketing.crm.models import Contact, ListColumns, SavedView


def _log_in(page, live_server, email):
    from smarketing.testing import PASSWORD

    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_marketer_filters_exports_exactly_the_filtered_rows_and_saves_a_view(live_server, page, settings, tmp_path):
    from smarketing.accounts.models import Role
    from smarketing.testing import make_cast, make_contact, make_user

    settings.MEDIA_ROOT = str(tmp_path)
    cast = make_cast()
    maya = make_user("maya@example.com", role=Role.MANAGER, team_kind="marketing", name="Maya Marketer")
    # 80 contacts: the MQLs from webinars span two pages, so an export of "the page" would be caught.
    for i in range(80):
        make_contact(
            None,
            email=f"p{i:03d}@example.com",
            lifecycle_stage="mql" if i % 5 else "lead",
            first_source="webinar" if i % 7 else "paid_search",
            owner=cast["mia"] if i % 2 else None,
        )
    wanted = set(Contact.objects.filter(lifecycle_stage="mql", first_source="webinar").values_list("pk", flat=True))
    assert len(wanted) > 50
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.set_viewport_size({"width": 1280, "height": 900})

    _log_in(page, live_server, maya.email)
    page.goto(live_server.url + reverse("contact_list"))
    expect(page.locator(".list-total")).to_have_text("80 contacts")
    page.select_option("#f-lifecycle", "mql")
    expect(page.locator(".list-total")).to_have_text("64 contacts")
    page.click(".more-filters summary")
    page.select_option("#f-source", "webinar")
    expect(page.locator(".list-total")).to_have_text(f"{len(wanted)} contacts")
    assert "source=webinar" in page.url and "lifecycle=mql" in page.url

    page.click(".export-menu summary")
    with page.expect_download() as info:
        page.click(".export-menu button:has-text('CSV')")
    download = info.value
    text = open(download.path(), encoding="utf-8-sig").read()
    exported = list(csv.DictReader(io.StringIO(text)))
    assert {int(row["Smarketing ID"]) for row in exported} == wanted
    assert len(exported) == len(wanted)
    assert {row["Lifecycle Stage"] for row in exported} == {"Marketing-qualified lead"}

    # Sort by a header: a link, marked for screen readers; a second click turns the order round.
    page.goto(page.url)
    page.click("th a.sort-link:has-text('Name')")
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Name")
    page.click("th a.sort-link:has-text('Name')")
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Name")
    expect(page.locator(".list-total")).to_have_text(f"{len(wanted)} contacts")

    # Choose and order columns: drop Owner, move Last touch up one place, save.
    page.click(".columns-menu summary")
    page.locator("#columns-form").get_by_label("Owner", exact=True).uncheck()
    page.get_by_role("button", name="Move Last touch up").click()
    page.click("#columns-form button:has-text('Save columns')")
    expect(page.locator("thead")).not_to_contain_text("Owner")
    expect(page.locator("thead th").last).to_contain_text("Engagement")
    assert ListColumns.objects.get(user=maya).columns == [
        "name",
        "company",
        "lifecycle",
        "fit",
        "last_touch",
        "engagement",
    ]

    # Save the list as a view shared with her team: it opens with its filters and shows in the views bar.
    page.click("summary:has-text('Save view')")
    page.fill("#view-name", "Webinar MQLs")
    page.check("#save-view-form input[name=shared]")
    page.click("#save-view-form button:has-text('Save view')")
    expect(page.locator(".saved-views [aria-current=page]")).to_contain_text("Webinar MQLs")
    expect(page.locator(".list-total")).to_have_text(f"{len(wanted)} contacts")
    view = SavedView.objects.get()
    assert (view.owner, view.team, view.columns[:2]) == (maya, maya.team, ["name", "company"])
    assert ("lifecycle", "mql") in view.list_params() and ("source", "webinar") in view.list_params()

    # On a phone the rows are cards: labelled lines, nothing wider than the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + reverse("contact_list"))
    first = page.locator(".list-table tbody tr").first
    expect(first.locator("td[data-label='Lifecycle stage']")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert errors == []
