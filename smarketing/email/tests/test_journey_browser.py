"""The journey of issue 8 in a real browser: build a segment with its live count, preview the email, create the
campaign (live recipient count), send it, watch it finish, then open and click the email as the recipient would
(the tracking URLs of the captured message) and see the opens and clicks on the report and on the contact's
timeline."""

import os
import re
import tempfile
import time

import pytest
from django.test import override_settings
from django.urls import reverse
from playwright.sync_api import expect

SHOTS = os.path.join(tempfile.gettempdir(), "smarketing-shots")
HUMAN = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari"


def hit(url: str, base: str) -> int:
    """What the recipient's mail client does with a tracking URL (a person's user agent, no cookies)."""
    from django.test import Client

    return Client(HTTP_USER_AGENT=HUMAN).get(url.removeprefix(base)).status_code


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_segment_email_preview_send_then_opens_and_clicks_on_report_and_timeline(live_server, page):
    from smarketing.email import sending, tracking
    from smarketing.email.models import CampaignStatus, EmailCampaign, EmailSend
    from smarketing.email.tests.campaign_fixtures import make_sender, make_template
    from smarketing.mail.testing import SmtpTestServer
    from smarketing.testing import PASSWORD, make_cast, make_contact

    make_cast()
    readers = [
        make_contact(
            email=f"reader{i}@inbox.example", first_name=f"Reader{i}", lifecycle_stage="mql", consent_status="granted"
        )
        for i in range(3)
    ]
    make_contact(email="lead@inbox.example", first_name="Lead", lifecycle_stage="lead", consent_status="granted")
    template = make_template(name="Spring newsletter")
    make_sender(is_default=True)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("dialog", lambda dialog: dialog.accept())
    page.set_viewport_size({"width": 1280, "height": 900})
    base = live_server.url

    with SmtpTestServer() as server, override_settings(**server.settings(), SMARKETING_BASE_URL=base):
        page.goto(base + reverse("login"))
        page.fill("input[name=username]", "mia@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)

        # 1. Build the segment, watching its live count.
        page.get_by_role("link", name="Segments").click()
        page.get_by_role("link", name="New segment").first.click()
        # The whole page, deferred htmx included: a change fired before htmx binds the builder sends nothing.
        page.wait_for_url(base + reverse("segments:segment_create"))
        page.wait_for_load_state("load")
        page.fill("#segment-name", "Spring MQLs")
        page.select_option("#n-0-values", ["mql"])
        # The live counts answer an htmx request each: slow on a busy machine, so they get more time.
        expect(page.locator("#segment-count [data-count]")).to_have_text("3", timeout=15_000)
        page.get_by_role("button", name="Save segment").click()
        expect(page.locator("h1")).to_contain_text("Spring MQLs")

        # 2. The email: preview it as the marketer will send it.
        page.goto(base + reverse("email:template_preview", args=[template.pk]))
        assert page.locator("body").inner_text()  # the rendered preview answers

        # 3. The campaign, in steps, with the live recipient count.
        page.goto(base + reverse("email:template_list"))
        page.get_by_role("link", name="Campaigns").click()
        expect(page.locator("h1")).to_contain_text("Email campaigns")
        page.get_by_role("link", name="New campaign").first.click()
        page.fill("input[name=name]", "Spring launch")
        page.get_by_label("Spring MQLs").first.check()
        expect(page.locator("#audience-count [data-count]")).to_have_text("3", timeout=15_000)
        page.select_option("select[name=template]", str(template.pk))
        page.fill("input[name=subject]", 'Spring news for {{ contact.first_name|default:"you" }}')
        page.screenshot(path=f"{SHOTS}-campaign-form-1280.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=f"{SHOTS}-campaign-form-390.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.get_by_role("button", name="Save draft and review").click()
        expect(page.locator("h1")).to_contain_text("Spring launch")
        page.screenshot(path=f"{SHOTS}-campaign-review-1280.png", full_page=True)

        # 4. Send (the confirmation dialog is accepted), then a sender runs as a worker would.
        page.get_by_role("button", name="Send now").click()
        expect(page.locator("#campaign-progress")).to_be_visible()
        ec = EmailCampaign.objects.get(campaign__name="Spring launch")
        assert ec.status == CampaignStatus.SENDING
        sending.run(ec.pk)
        expect(page.locator("#campaign-progress h2")).to_have_text("Sent", timeout=10_000)  # the htmx poll
        expect(page.locator("[data-total=sent]")).to_have_text("3")
        page.screenshot(path=f"{SHOTS}-campaign-sent-1280.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=f"{SHOTS}-campaign-sent-390.png", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        assert sorted(r for m in server.messages for r in m.rcpt_tos) == sorted(c.email for c in readers)

        # 5. The first reader opens the email and clicks its first link (the URLs in the message they got).
        reader = readers[0]
        message = next(m.message for m in server.messages if m.rcpt_tos == [reader.email])
        html = message.get_body(("html",)).get_content()
        pixel = re.search(r'src="([^"]+/e/o/[^"]+\.gif)"', html).group(1)
        click = re.search(r'href="([^"]+/e/c/[^"]+/\d+)"', html).group(1)
        time.sleep(tracking.CLICK_TOO_SOON.total_seconds() + 0.2)  # a person does not click within 2 s
        assert hit(pixel, base) == 200
        assert hit(click, base) in (301, 302, 303, 307)
        time.sleep(tracking.HOLD_BACK.total_seconds() + 0.2)
        tracking.process_pending()
        send = EmailSend.objects.get(campaign=ec, contact=reader)
        assert (send.opens, send.clicks) == (1, 1)

        # 6. The report shows them, and so does the reader's timeline.
        page.goto(base + reverse("email:campaign_detail", args=[ec.pk]))
        page.get_by_role("link", name="Report", exact=True).click()
        expect(page.locator("body")).to_contain_text("Spring launch")
        report = page.locator("main")
        expect(report).to_contain_text("Opened")
        expect(report).to_contain_text("Clicked")
        page.screenshot(path=f"{SHOTS}-campaign-report-1280.png", full_page=True)
        page.goto(base + reverse("contact_detail", args=[reader.pk]))
        timeline = page.locator(".timeline")
        expect(timeline).to_contain_text("Email opened")
        expect(timeline).to_contain_text("clicked")
        expect(timeline).to_contain_text("Sent")
    assert errors == []
