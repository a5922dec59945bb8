"""Sharing in a real browser: Bob makes a tracked link for a deal's contact and previews it (not tracked); the
contact opens it on a phone, scrolls through the PDF's pages and leaves; the viewer's beacon has recorded the pages
and the time, Bob is notified and sees the opening on his shared links. Screenshots go to <tmp>/shots."""

import io
import os
import tempfile
import time

import pytest
from django.urls import reverse
from playwright.sync_api import expect

SHOTS = os.path.join(tempfile.gettempdir(), "shots")
PHONE = {"width": 390, "height": 844}


def shoot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"sharing_{name}.png"), full_page=True)


def real_pdf(pages: int = 3):
    from PIL import Image, ImageDraw

    from smarketing.content import files

    images = []
    for n in range(1, pages + 1):
        image = Image.new("RGB", (400, 560), "white")
        ImageDraw.Draw(image).text((40, 40), f"Page {n}", fill="black")
        images.append(image)
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:])
    buffer.seek(0)
    return files.store_upload(buffer, "buyers-guide.pdf")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_share_then_the_contact_reads_it_on_a_phone(live_server, browser):
    from smarketing.content import kinds
    from smarketing.content.models import Share, ShareView
    from smarketing.content.tests.test_sharing import make_asset
    from smarketing.core.tests.test_a11y_browser import log_in, watch_console
    from smarketing.notifications.models import Notification
    from smarketing.testing import make_cast, make_contact, make_deal
    from smarketing.timeline.models import Touchpoint

    base = live_server.url
    cast = make_cast()
    contact = make_contact(first_name="Dana", last_name="Buyer", email="dana@buyer.example")
    deal = make_deal(name="Buyer Corp renewal", contacts=[contact])
    stored = real_pdf(3)
    asset = make_asset(
        cast["mia"], title="Buyer's guide", url="", file_name=stored.name, original_name=stored.original_name,
        mime_type=stored.mime_type, size=stored.size, sha256=stored.sha256, page_count=stored.page_count,
    )  # fmt: skip

    rep = browser.new_context()
    page = rep.new_page()
    errors = watch_console(page)
    log_in(page, base, "bob@example.com")
    page.goto(f"{base}{reverse('content:share_new')}?asset={asset.pk}&contact={contact.pk}&deal={deal.pk}")
    expect(page.locator("#share-panel")).to_contain_text("Dana Buyer")
    shoot(page, "new")
    page.get_by_role("button", name="Create link").click()
    link = page.locator("input[data-share-select]")
    expect(link).to_be_visible()
    share = Share.objects.get()
    path = reverse("content_public:view", args=[share.token])
    assert link.input_value().endswith(path)  # on SMARKETING_BASE_URL, which is not the live server's
    shoot(page, "link")
    # The rep checks their own link: a preview, not an opening.
    page.goto(base + path)
    expect(page.locator(".viewer-preview")).to_contain_text("Preview — not tracked")
    assert ShareView.objects.count() == 0

    visitor = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    reader = visitor.new_page()
    reader_errors = watch_console(reader)
    reader.goto(base + path)
    expect(reader.locator("h1")).to_have_text("Buyer's guide")
    expect(reader.locator(".viewer-page")).to_have_count(3)
    expect(reader.locator(".viewer-page img").first).to_have_js_property("complete", True)
    for n in (2, 3):
        reader.locator(f'.viewer-page[data-page="{n}"]').scroll_into_view_if_needed()
        expect(reader.locator(f'.viewer-page[data-page="{n}"] img')).to_have_js_property("complete", True)
        reader.wait_for_timeout(600)
    shoot(reader, "viewer_phone")
    reader.wait_for_timeout(1500)
    reader.goto("about:blank")  # leaving: pagehide sends the last beat

    view = ShareView.objects.get()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and view.pages_seen != [1, 2, 3]:
        time.sleep(0.2)
        view.refresh_from_db()
    assert view.pages_seen == [1, 2, 3]
    assert view.max_page == 3
    assert 1 <= view.seconds <= 30
    assert Touchpoint.objects.filter(kind=kinds.CONTENT_VIEWED, contact=contact, deal=deal).count() == 1
    assert Notification.objects.filter(kind=kinds.NOTIFY_FIRST_VIEW, user=cast["bob"]).count() == 1

    page.goto(base + reverse("content:shares"))
    row = page.locator(f"#share-{share.pk}")
    expect(row).to_contain_text("Dana Buyer")
    expect(row.locator("td").nth(2)).to_have_text("1")
    shoot(page, "shares")
    assert errors == []
    assert reader_errors == []
