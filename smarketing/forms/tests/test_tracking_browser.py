"""In a real browser: a static site on another localhost port loads t.js from the app, its page views are
recorded anonymously under the first-party cookie (a single-page navigation too), and once the visitor is
stitched to a contact the contact's timeline in the app shows those earlier views; the visits page lists them."""

import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import OperationalError
from playwright.sync_api import expect

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<script src="{app}/t.js" async></script></head>
<body><h1>{title}</h1><a href="/pricing.html">Pricing</a>
<button id="spa" type="button">Go to the docs</button>
<script src="/spa.js"></script></body></html>"""
# The site's own single-page navigation: pushState, then tell the tracker.
SPA = """document.getElementById("spa").addEventListener("click", function () {
  history.pushState({}, "", "/docs/start"); document.title = "Docs"; window.smarketing.track();
});"""


def _site(app_url: str, root):
    (root / "index.html").write_text(PAGE.format(title="Acme home", app=app_url))
    (root / "pricing.html").write_text(PAGE.format(title="Acme pricing", app=app_url))
    (root / "spa.js").write_text(SPA)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def _wait_for_views(n: int, timeout: float = 10.0):
    from smarketing.core import ingest
    from smarketing.forms.models import PageView

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ingest.flush()
            views = list(PageView.objects.select_related("visitor").order_by("occurred_at", "id"))
        except OperationalError:
            # SQLite's in-memory test database is shared with the live server's thread: a read that meets its
            # write in progress gets "table is locked"; poll again.
            views = []
        if len(views) >= n:
            return views
        time.sleep(0.1)
    raise AssertionError(f"expected {n} page views, got {len(views)}")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_anonymous_visits_on_another_site_join_the_contacts_timeline(live_server, page, tmp_path):
    from smarketing.forms import tracking
    from smarketing.forms.models import TrackingSettings
    from smarketing.testing import PASSWORD, make_cast, make_contact

    make_cast()
    contact = make_contact(first_name="Vera", last_name="Visitor", email="vera@example.com")
    # The app and the site share the host name (cookies are per host, not per port), like www. and app. of one
    # domain would share a parent domain.
    app_url = live_server.url.replace("localhost", "127.0.0.1")
    server, thread = _site(app_url, tmp_path)
    site = f"http://127.0.0.1:{server.server_address[1]}"
    TrackingSettings.objects.create(pk=1, allowed_origins=site)
    tracking.clear_settings_cache()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(site + "/index.html")
        _wait_for_views(1)
        page.click("text=Pricing")
        expect(page.locator("h1")).to_have_text("Acme pricing")
        _wait_for_views(2)
        page.click("#spa")
        views = _wait_for_views(3)
    finally:
        server.shutdown()
        thread.join()
    cookie = {c["name"]: c for c in page.context.cookies()}["smk_vid"]
    assert [v.path for v in views] == ["/index.html", "/pricing.html", "/docs/start"]
    assert {v.visitor.public_id for v in views} == {cookie["value"]}
    assert all(v.contact_id is None for v in views)
    assert views[1].referrer == site + "/index.html"
    assert views[2].referrer == site + "/pricing.html"  # the SPA's previous page

    # The visitor fills in a form (formscapture calls stitch with the smk_vid cookie; called directly here).
    assert tracking.stitch(cookie["value"], contact, by="form") == 3

    page.goto(app_url + "/accounts/login/")
    page.fill("input[name=username]", "mia@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(f"{app_url}/contacts/{contact.pk}/")
    for summary in (
        "Viewed /index.html — Acme home",
        "Viewed /pricing.html — Acme pricing",
        "Viewed /docs/start — Docs",
    ):
        expect(page.get_by_text(summary).first).to_be_visible()

    page.goto(app_url + "/tracking/")
    expect(page.locator(".visits-table tbody tr")).to_have_count(3)
    expect(page.locator(".visits-table tbody tr").first).to_contain_text("Vera Visitor")
    expect(page.locator("canvas[data-chart=top]")).to_have_attribute("data-drawn", "1")
    assert not errors, errors
