import pytest
from django.urls import reverse
from playwright.sync_api import expect

from smarketing.crm.models import Contact
from smarketing.privacy.models import ErasureRecord
from smarketing.testing import PASSWORD, make_cast, make_contact


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_erase_button_waits_for_the_typed_email_then_erases(live_server, page):
    make_cast()
    contact = make_contact(None, email="dana.doe@example.com", first_name="Dana", last_name="Doe")
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", "alice@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.goto(live_server.url + reverse("privacy:contact", args=[contact.pk]))
    page.click("text=Erase this person…")
    button = page.locator("[data-erase-submit]")
    expect(button).to_be_disabled()
    page.fill("[data-erase-confirm]", "dana.doe@example")
    expect(button).to_be_disabled()
    page.fill("[data-erase-confirm]", " Dana.Doe@Example.com")
    expect(button).to_be_enabled()
    page.fill("textarea[name=reason]", "Request by email, ticket 12")
    button.click()
    expect(page.locator(".message")).to_contain_text("was erased.")
    expect(page.locator("h1")).to_have_text("Privacy: [erased]")
    assert ErasureRecord.objects.filter(contact_id=contact.pk).exists()
    assert Contact.objects.get(pk=contact.pk).email == f"erased-{contact.pk}@erased.invalid"
    # No Content-Security-Policy violations or script errors on the way.
    assert errors == []
