"""In a real browser, issue 9's whole journey: a marketer builds a form in the builder and publishes it; a static
site on another localhost port carries both the tracking script and the form's embed; an anonymous visitor views
two of its pages and submits the embedded form across origins; and the contact's page in the app shows the
contact with its earlier page views (at their original times) and the submission on its timeline."""

import os
import re
import tempfile
from datetime import datetime

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from smarketing.forms.tests.test_embed_browser import embed_page, static_site
from smarketing.forms.tests.test_tracking_browser import _wait_for_views

SHOTS = os.path.join(tempfile.gettempdir(), "shots")  # /tmp/shots

HOME = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme home</title>{tracking}</head>
<body><main><h1>Acme home</h1><a href="/talk.html">Talk to us</a></main></body></html>"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_build_embed_visit_submit_and_see_the_stitched_timeline(live_server, page, tmp_path):
    from smarketing.crm.models import Contact
    from smarketing.forms import tracking
    from smarketing.forms.models import Form, FormStatus, FormSubmission, PageView, TrackingSettings, Visitor
    from smarketing.testing import PASSWORD, make_cast
    from smarketing.timeline.models import Touchpoint

    os.makedirs(SHOTS, exist_ok=True)
    make_cast()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.set_viewport_size({"width": 1280, "height": 900})
    # The app and the site share the host name and differ by port (two origins), as in test_tracking_browser.
    app_url = live_server.url.replace("localhost", "127.0.0.1")
    tracking_snippet = f'<script src="{app_url}/t.js" async></script>'  # the tracking settings page's snippet

    site_dir = tmp_path / "site"
    site_dir.mkdir()
    pages = {"index.html": HOME.format(tracking=tracking_snippet), "favicon.ico": ""}  # no 404 in the console
    with static_site(site_dir, pages) as site:
        assert site != app_url
        TrackingSettings.objects.create(pk=1, allowed_origins=site)
        tracking.clear_settings_cache()

        # 1. The marketer builds the form in the builder and publishes it.
        page.goto(app_url + reverse("login"))
        page.fill("input[name=username]", "mia@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        page.get_by_role("link", name="Forms").click()
        page.get_by_role("link", name="New form").first.click()
        page.fill("#form-name", "Talk to sales")
        page.get_by_role("button", name="Create and edit").click()
        expect(page.locator("h1")).to_contain_text("Edit form: Talk to sales")
        page.select_option("#add-field-type", "text")
        page.get_by_role("button", name="+ Add field").click()
        expect(page.locator("#f1-label")).to_be_visible()
        page.fill("#f1-label", "First name")
        page.fill("#f1-key", "first_name")
        page.select_option("#f1-maps", "contact.first_name")
        page.fill("#form-title", "Talk to our team")
        preview = page.locator("#form-preview")
        expect(preview).to_contain_text("First name")
        expect(preview.locator("h3")).to_have_text("Talk to our team")
        page.fill("#form-origins", site)
        page.fill("#form-min-fill", "1")
        page.wait_for_load_state("networkidle")  # the last preview refresh is in
        page.evaluate("window.scrollTo(0, 0)")  # sticky bars draw at the scroll offset in a full-page shot
        page.screenshot(path=f"{SHOTS}/journey-form-builder.png", full_page=True)
        page.get_by_role("button", name="Save form").click()
        expect(page.locator(".messages, .toasts")).to_contain_text("Form saved")
        page.get_by_role("button", name="Publish").first.click()
        snippet = page.locator("#embed-snippet").input_value()
        public_id = re.search(r'data-smarketing-form="([^"]+)"', snippet).group(1)
        form = Form.objects.get(name="Talk to sales")
        assert (form.public_id, form.status) == (public_id, FormStatus.LIVE)
        assert [f["key"] for f in form.fields] == ["email", "first_name"]
        assert form.allowed_origins.strip() == site

        # 2. The static site carries both snippets; the visitor, in a browser context of its own, browses.
        (site_dir / "talk.html").write_text(
            embed_page(app_url, public_id, extra_head=tracking_snippet).replace("Acme: talk to us", "Acme talk"),
            encoding="utf-8",
        )
        visitor_context = page.context.browser.new_context()
        visit = visitor_context.new_page()
        visit.on("pageerror", lambda exc: errors.append(str(exc)))
        visit.on("console", lambda msg: errors.append(f"{msg.text} {msg.location}") if msg.type == "error" else None)
        visit.goto(site + "/index.html")
        _wait_for_views(1)
        visit.get_by_role("link", name="Talk to us").click()
        expect(visit.get_by_role("heading", name="Talk to our team")).to_be_visible()
        views = _wait_for_views(2)
        vid = {c["name"]: c for c in visitor_context.cookies()}["smk_vid"]["value"]
        assert [v.path for v in views] == ["/index.html", "/talk.html"]
        assert {v.visitor.public_id for v in views} == {vid}
        assert all(v.contact_id is None and v.touchpoint_id is None for v in views)  # anonymous so far
        assert not Contact.objects.filter(email="nora@client.example").exists()

        # 3. The visitor submits the embedded form (a cross-origin POST carrying the smk_vid cookie's value).
        visit.get_by_label("Work email").fill("nora@client.example")
        visit.get_by_label("First name").fill("Nora")
        visit.wait_for_timeout(1100)  # the form's minimum fill time
        visit.get_by_role("button", name="Submit").click()
        expect(visit.get_by_role("status")).to_have_text("Thank you! We'll be in touch.")
        visitor_context.close()

    # The database: the visitor is stitched to the new contact, its views joined its timeline at their times.
    contact = Contact.objects.get(email="nora@client.example")
    assert contact.first_name == "Nora"
    visitor = Visitor.objects.get(public_id=vid)
    assert (visitor.contact_id, visitor.stitched_by) == (contact.pk, "form")
    views = list(PageView.objects.select_related("touchpoint").order_by("occurred_at", "id"))
    assert [v.path for v in views] == ["/index.html", "/talk.html"]
    for view in views:
        assert view.contact_id == contact.pk
        assert (view.touchpoint.contact_id, view.touchpoint.kind) == (contact.pk, "page_viewed")
        assert view.touchpoint.occurred_at == view.occurred_at
    submitted = Touchpoint.objects.get(contact=contact, kind="form_submitted")
    assert submitted.occurred_at >= views[-1].occurred_at
    submission = FormSubmission.objects.get(contact=contact, form=form)
    assert submission.page_url == site + "/talk.html"

    # 4. Signed in as the marketer, the contact's page shows the contact and the stitched timeline.
    page.goto(f"{app_url}/contacts/{contact.pk}/")
    expect(page.locator("h1")).to_contain_text("Nora")
    timeline = page.locator(".timeline-item")
    for view, summary in zip(views, ("Viewed /index.html — Acme home", "Viewed /talk.html — Acme talk"), strict=True):
        item = page.locator(f"#touch-{view.touchpoint_id}")
        expect(item).to_contain_text(summary)
        shown = datetime.fromisoformat(item.locator("time").get_attribute("datetime"))
        assert shown == view.occurred_at  # at its original time, not the stitch's
    submitted_item = page.locator(f"#touch-{submitted.pk}")
    expect(submitted_item).to_be_visible()
    expect(submitted_item).to_contain_text("Talk to sales")
    # Newest first: the submission above the later view above the earlier one.
    ids = timeline.evaluate_all("els => els.map(e => e.id)")
    order = [ids.index(f"touch-{t}") for t in (submitted.pk, views[1].touchpoint_id, views[0].touchpoint_id)]
    assert order == sorted(order), ids
    page.screenshot(path=f"{SHOTS}/journey-contact-timeline.png", full_page=True)
    assert errors == [], errors
