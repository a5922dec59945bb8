"""In a real browser: a marketer imports a HubSpot export and reads what it changed and what it warned about."""

import os
import tempfile

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from smarketing.crm.models import Contact

HUBSPOT = (
    b"Record ID,First Name,Last Name,Email,Contact owner,Original Source,Lifecycle Stage,Job Title\n"
    b"201,Ann,Analyst,ann@example.com,mia@example.com,Paid Search,Marketing Qualified Lead,Head of Data\n"
    b"202,Sam,Newman,sam@example.com,Sales Rep,Organic Search,Lead,Buyer\n"
    b"203,Ann,Again,ann@example.com,,Referrals,Lead,Intern\n"
)
SCREENSHOTS = os.environ.get("SMARKETING_SCREENSHOTS", tempfile.gettempdir())


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_marketer_imports_a_hubspot_file_and_sees_warnings_and_changes(live_server, page, settings, tmp_path):
    from smarketing.testing import PASSWORD, make_cast, make_contact

    settings.MEDIA_ROOT = str(tmp_path)
    make_cast()
    # Unowned, so Mia (a member) may update it.
    make_contact(None, email="ann@example.com", first_name="Ann", last_name="Analyst", title="Analyst")
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", "mia@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.goto(live_server.url + reverse("dataio:import_list"))
    page.select_option("#id_object_type", "contact")
    page.set_input_files("#id_file", files=[{"name": "hubspot.csv", "mimeType": "text/csv", "buffer": HUBSPOT}])
    page.click("button:has-text('Upload and preview')")
    expect(page.locator("h1")).to_contain_text("Map the columns of hubspot.csv")
    page.click("button:has-text('Start import')")
    expect(page.locator("h1")).to_contain_text("Import of hubspot.csv")
    call_command("worker", batch=True, verbosity=0)

    expect(page.locator("[data-status]")).to_have_text("Done", timeout=10_000)
    expect(page.locator("[data-total=created]")).to_have_text("1")
    expect(page.locator("[data-total=updated]")).to_have_text("1")
    expect(page.locator("[data-total=rejected]")).to_have_text("1")
    expect(page.locator("[data-total=warned]")).to_have_text("1")
    # The owner nobody has: imported without one, and said so.
    warned = page.locator("#warned-rows + .table-wrap")
    expect(warned).to_contain_text("sam@example.com")
    expect(warned).to_contain_text("no active user has the email or name “Sales Rep”")
    # The updated record, field by field, before → after, in words.
    updated = page.locator("#updated-rows + .table-wrap")
    expect(updated).to_contain_text("Title: Analyst → Head of Data")
    expect(updated).to_contain_text("Owner: (empty) → Mia Marketer")
    expect(updated).to_contain_text("Lifecycle stage: Lead → Marketing-qualified lead")
    expect(updated).to_contain_text("Original source: (empty) → Paid ads")
    # The second Ann row overwrote nothing.
    expect(page.locator(".rejected-rows")).to_contain_text(
        "Duplicate of row 2: both rows have the email ann@example.com"
    )

    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=f"{SCREENSHOTS}/import-result-1280.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=f"{SCREENSHOTS}/import-result-390.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the result page scrolls sideways on a phone ({width} px)"

    # The new contact's source is the product's, so the source filter finds it.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + reverse("contact_list") + "?source=organic")
    expect(page.locator("main")).to_contain_text("sam@example.com")
    assert Contact.objects.get(email="ann@example.com").title == "Head of Data"

    # An import whose process was killed: listed with Resume and Discard; Discard keeps the rows imported.
    from smarketing.dataio import services
    from smarketing.dataio.models import Import
    from smarketing.dataio.tests.helpers import prepare

    mia = Contact.objects.get(email="ann@example.com").owner
    killed = prepare(b"Email\nx@example.com\ny@example.com\n", mia)
    services.set_mapping(killed, killed.mapping)
    Import.objects.filter(pk=killed.pk).update(status=Import.Status.RUNNING, next_row=1, total_rows=2)
    page.goto(live_server.url + reverse("dataio:import_list"))
    listed = page.locator(".interrupted-imports")
    expect(listed).to_contain_text("Interrupted")
    expect(listed.get_by_role("button", name="Resume the import of test.csv")).to_be_visible()
    page.screenshot(path=f"{SCREENSHOTS}/import-list-interrupted-1280.png", full_page=True)
    listed.get_by_role("button", name="Discard the import of test.csv").click()
    expect(page.locator("main")).to_contain_text("the 1 rows it had already processed stay imported")
    expect(page.locator(".interrupted-imports")).to_have_count(0)
    assert Import.objects.get(pk=killed.pk).status == Import.Status.DISCARDED
    assert errors == []
