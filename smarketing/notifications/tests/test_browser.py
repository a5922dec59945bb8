"""In a real browser: the bell shows the unread count, the center marks one read (htmx) and then all."""

import os
import tempfile

import pytest
from django.urls import reverse
from playwright.sync_api import expect

# Screenshots for a person to look at (not compared by the test).
SHOTS = os.path.join(tempfile.gettempdir(), "smarketing-shots")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bell_count_and_marking_read(live_server, page):
    from smarketing.crm import services
    from smarketing.testing import PASSWORD, make_cast, make_contact

    cast = make_cast()
    bob, carol = cast["bob"], cast["carol"]
    contact = make_contact(None, first_name="Ada", last_name="Lovelace", owner=bob)
    services.create_task(actor=carol, title="Call Ada about the pilot", owner=bob, contact=contact)
    services.add_note(contact, body_html="<p>@Bob Seller she asked for pricing</p>", actor=carol)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", "bob@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    bell = page.locator("#notification-bell")
    expect(bell.locator(".bell-count")).to_have_text("2")
    expect(bell).to_have_attribute("aria-label", "Notifications: 2 unread")
    bell.click()
    expect(page.locator("h1")).to_have_text("Notifications")
    expect(page.locator(".notification.unread")).to_have_count(2)
    page.screenshot(path=f"{SHOTS}-notifications-1280.png", full_page=True)

    first = page.locator(".notification.unread").first
    first.get_by_role("button", name="Mark").click()
    expect(page.locator(".notification.unread")).to_have_count(1)
    expect(bell.locator(".bell-count")).to_have_text("1")
    expect(page.locator("#notification-status")).to_contain_text("1 unread")

    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator(".notification.unread")).to_have_count(0)
    expect(page.locator("#notification-bell .bell-count")).to_have_count(0)
    expect(page.locator(".subtitle")).to_have_text("All caught up")

    # Following a notification opens its record.
    page.get_by_role("button", name="Carol Manager mentioned you in a note on Ada Lovelace").click()
    expect(page.locator("h1")).to_contain_text("Ada Lovelace")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + reverse("notifications:list"))
    page.screenshot(path=f"{SHOTS}-notifications-390.png", full_page=True)
    assert errors == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_each_home_at_desktop_and_phone_width(live_server, page):
    """Screenshots of the three homes (looked at by a person) and no console errors on any of them."""
    from smarketing.testing import PASSWORD, make_cast, make_contact, make_deal

    cast = make_cast()
    make_deal(None, owner=cast["bob"], name="Acme pilot", amount="12000")
    make_contact(None, owner=cast["bob"], first_source="paid", first_name="Nora", last_name="New")
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", "carol@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    for kind, heading in (("rep", "My work"), ("marketing", "Marketing"), ("manager", "Team pipeline")):
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(live_server.url + reverse("home_tab", args=[kind]))
            expect(page.locator("h1")).to_contain_text(heading)
            page.screenshot(path=f"{SHOTS}-home-{kind}-{width}.png", full_page=True)
    assert errors == []
