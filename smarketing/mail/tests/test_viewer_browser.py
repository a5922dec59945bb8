"""In a real browser: the demo's mail viewer shows a captured message; its HTML renders in the sandboxed frame,
where the message's script does not run."""

import os
import tempfile
from email.message import EmailMessage

import pytest
from django.test import override_settings
from playwright.sync_api import expect

SHOTS = os.path.join(tempfile.gettempdir(), "smarketing-shots")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@override_settings(MAIL_VIEWER=True)
def test_reading_a_captured_message(live_server, page):
    from smarketing.mail.models import CapturedMessage
    from smarketing.testing import PASSWORD, make_cast

    cast = make_cast()
    m = EmailMessage()
    m["From"] = "Maya at Acme <maya@acme.example>"
    m["To"] = "pat@example.com"
    m["Subject"] = "December <b>news</b>"
    m.set_content("Hello Pat, the plain text part.")
    m.add_alternative(
        "<h1 id='title'>December news</h1><p>Hello <b>Pat</b></p>"
        "<script>document.getElementById('title').textContent = 'PWNED'; parent.document.title = 'PWNED'</script>",
        subtype="html",
    )
    CapturedMessage.objects.create(
        mail_from="bounces@acme.example", recipients=["pat@example.com"], subject=str(m["Subject"]), raw=m.as_bytes()
    )
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", cast["rory"].email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.get_by_role("link", name="Mail viewer").click()
    expect(page.locator("h1")).to_have_text("Mail viewer")
    page.get_by_role("link", name="December <b>news</b>").click()
    expect(page.locator("h1")).to_have_text("December <b>news</b>")
    frame = page.frame_locator("iframe.mail-frame")
    expect(frame.locator("h1")).to_have_text("December news")
    expect(frame.locator("b")).to_have_text("Pat")
    expect(page.locator("pre.mail-text")).to_contain_text("the plain text part")
    page.wait_for_timeout(300)
    assert page.title() != "PWNED"
    expect(frame.locator("h1")).not_to_have_text("PWNED")
    page.screenshot(path=f"{SHOTS}-mail-viewer-1280.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=f"{SHOTS}-mail-viewer-390.png", full_page=True)
    assert errors == []
