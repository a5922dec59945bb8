"""In a real browser: upload a CSV, adjust the mapping, run the job, watch the result arrive (htmx polling).

The job runs honestly: the test starts the real worker command in batch mode between clicking "Start import"
and reading the result, exactly what `smarketing worker` does in production; the page picks the result up by
polling the progress card every second.
"""

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from smarketing.crm.models import Contact

CSV = (
    b"Email,First Name,Last Name,Role,Lifecycle Stage\n"
    b"ada@example.com,Ada,Lovelace,Analyst,marketingqualifiedlead\n"
    b"grace@example.com,Grace,<b>Hopper</b>,Admiral,lead\n"
    b"not-an-email,X,Y,Z,lead\n"
)


@pytest.mark.browser
@pytest.mark.pg_browser  # the import runs differently on PostgreSQL (two writer connections)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_upload_map_run_and_see_the_result(live_server, page, settings, tmp_path):
    from smarketing.testing import PASSWORD, make_cast

    settings.MEDIA_ROOT = str(tmp_path)
    make_cast()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)

    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", "carol@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.goto(live_server.url + reverse("dataio:import_list"))
    page.select_option("#id_object_type", "contact")
    page.set_input_files("#id_file", files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": CSV}])
    page.click("button:has-text('Upload and preview')")

    expect(page.locator("h1")).to_contain_text("Map the columns of people.csv")
    expect(page.locator("#id_encoding")).to_have_value("utf-8")
    expect(page.locator(".preview-table")).to_contain_text("<b>Hopper</b>")  # shown as text, not markup
    expect(page.locator("#unmapped-columns")).to_contain_text("Role")
    role = page.get_by_label("Import column Role into")
    expect(role).to_have_value("")
    role.select_option("title")  # the one mapping a person adjusts: "Role" is the job title here
    page.click("button:has-text('Start import')")

    expect(page.locator("h1")).to_contain_text("Import of people.csv")
    expect(page.locator("[data-status]")).to_have_text("Queued")
    call_command("worker", batch=True, verbosity=0)

    expect(page.locator("[data-total=created]")).to_have_text("2", timeout=10_000)
    expect(page.locator("[data-total=rejected]")).to_have_text("1")
    expect(page.locator("[data-status]")).to_have_text("Done")
    expect(page.locator(".rejected-rows")).to_contain_text("'not-an-email' is not a valid email address.")
    expect(page.locator("a:has-text('Download the rejected rows')")).to_be_visible()
    assert Contact.objects.get(email="ada@example.com").title == "Analyst"
    assert Contact.objects.get(email="ada@example.com").lifecycle_stage == "mql"
    assert errors == []
