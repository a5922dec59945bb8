"""In a real browser: a static page on another localhost port (another origin) embeds a live form with embed.js;
Chromium fills and submits it, the errors and the thank-you show inline, and the contact exists with its
submission. Web tracking extends this journey (earlier anonymous page views joining the contact's timeline):
`static_site()` serves any pages, and `embed_page(extra_head=...)` takes the tracking snippet."""

import contextlib
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextlib.contextmanager
def static_site(directory, pages: dict[str, str]):
    """Serve `pages` ({file name: html}) from `directory` on 127.0.0.1 (a port of its own); yields the base URL."""
    for name, html in pages.items():
        (directory / name).write_text(html, encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        assert not thread.is_alive()


def embed_page(app_url: str, public_id: str, *, extra_head: str = "") -> str:
    """A customer's page that embeds the form the way the builder's snippet says."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme: talk to us</title>{extra_head}</head>
<body><main><h1>Talk to us</h1>
<div data-smarketing-form="{public_id}"></div>
<script src="{app_url}/f/{public_id}/embed.js" async></script>
</main></body></html>"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_form_embedded_on_another_origin_creates_the_contact(live_server, page, tmp_path):
    from smarketing.crm.models import Contact
    from smarketing.forms.models import Form, FormSubmission
    from smarketing.forms.tests.capture_fixtures import make_form
    from smarketing.timeline.models import Touchpoint

    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    form = make_form(
        name="Talk to us",
        title="Talk to sales",
        min_fill_seconds=1,
        consent_enabled=True,
        consent_text="Send me product news.",
    )
    with static_site(tmp_path, {"index.html": embed_page(live_server.url, form.public_id)}) as site:
        form.allowed_origins = site
        form.save()
        assert site != live_server.url  # another origin: the embed works across origins
        page.goto(f"{site}/index.html?utm_source=newsletter&utm_campaign=autumn")
        expect(page.get_by_role("heading", name="Talk to sales")).to_be_visible()

        # A mistyped address: the error shows inline, nothing is stored.
        page.get_by_label("Work email").fill("dana@")
        page.wait_for_timeout(1100)  # the form's minimum fill time
        page.get_by_role("button", name="Submit").click()
        expect(page.locator(".smk-error")).to_contain_text("valid email")
        assert not FormSubmission.objects.exists()

        page.get_by_label("Work email").fill("dana@client.example")
        page.get_by_label("First name").fill("Dana")
        page.get_by_label("Company").fill("Client Inc")
        page.get_by_label("Send me product news.").check()
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_role("status")).to_have_text("Thank you! We'll be in touch.")

    contact = Contact.objects.select_related("company").get(email="dana@client.example")
    assert (contact.first_name, contact.company.name, contact.consent_status) == ("Dana", "Client Inc", "granted")
    submission = FormSubmission.objects.get(contact=contact)
    assert submission.data["utm_source"] == "newsletter"
    assert submission.page_url.startswith(f"{site}/index.html")
    assert Touchpoint.objects.filter(contact=contact, kind="form_submitted").count() == 1
    assert Form.objects.get(pk=form.pk).submission_count == 1
    assert errors == []
