"""In a real browser, signed out, at desktop and phone widths: the unsubscribe confirmation, the preference
center (topics, frequency, save, unsubscribe from all, subscribe again), no CSP errors."""

import os

import pytest
from playwright.sync_api import expect

SCREENS = os.environ.get("SMARKETING_SCREENSHOTS", "")  # a directory to keep screenshots in, when set


def _shot(page, name):
    if SCREENS:
        os.makedirs(SCREENS, exist_ok=True)
        page.screenshot(path=os.path.join(SCREENS, f"{name}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_a_recipient_manages_their_email_from_the_links(live_server, page, width):
    from smarketing.crm.models import ConsentStatus, Contact
    from smarketing.email import links, tokens
    from smarketing.email.models import EmailPreference, Topic
    from smarketing.email.tests.tracking_fixtures import make_email_campaign, make_send

    Topic.objects.create(name="Product news", description="New features, once a month", position=1)
    events = Topic.objects.create(name="Events", description="Webinars and meetups near you", position=2)
    send = make_send(make_email_campaign("Spring launch"), consent_status=ConsentStatus.GRANTED)
    signed = tokens.sign(send.token)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.set_viewport_size({"width": width, "height": 900})

    page.goto(live_server.url + links.UNSUBSCRIBE_PATH.format(signed))
    expect(page.locator("h1")).to_have_text("Unsubscribe?")
    expect(page.locator("nav.sidebar")).to_have_count(0)  # the recipient is no user of the app
    _shot(page, f"unsubscribe-{width}")
    page.click("text=Choose topics or fewer emails instead")

    expect(page.locator("h1")).to_have_text("Your email preferences")
    page.uncheck(f"input[name=topics][value='{events.pk}']")
    page.check("input[name=frequency][value=monthly]")
    page.click("button:has-text('Save my preferences')")
    expect(page.locator(".public-email-saved")).to_contain_text("Saved your topics")
    expect(page.locator(f"input[name=topics][value='{events.pk}']")).not_to_be_checked()
    pref = EmailPreference.objects.get(contact_id=send.contact_id)
    assert pref.frequency == "monthly"
    assert list(pref.topics_left.values_list("name", flat=True)) == ["Events"]
    _shot(page, f"preferences-{width}")

    page.check("input[name=unsubscribe_all]")
    page.click("button[type=submit]")
    expect(page.locator(".public-email-saved")).to_contain_text("Unsubscribed from all")
    assert Contact.objects.get(pk=send.contact_id).consent_status == ConsentStatus.WITHDRAWN
    page.click("button:has-text('Subscribe again and save')")
    expect(page.locator(".public-email-saved")).to_contain_text("Subscribed again")
    assert Contact.objects.get(pk=send.contact_id).consent_status == ConsentStatus.GRANTED

    page.goto(live_server.url + links.UNSUBSCRIBE_PATH.format(signed))
    page.click("button:has-text('Unsubscribe')")
    expect(page.locator("h1")).to_have_text("You are unsubscribed")
    _shot(page, f"unsubscribed-{width}")
    assert Contact.objects.get(pk=send.contact_id).consent_status == ConsentStatus.WITHDRAWN
    assert errors == []
