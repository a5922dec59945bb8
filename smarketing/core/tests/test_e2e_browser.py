"""The journey issue #2 promises, in a real browser: log in, create a contact, find it in the list, log a call,
see it on the timeline, drag a deal to the next stage."""

import re

import pytest
from playwright.sync_api import expect

from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Contact, Deal
from smarketing.testing import PASSWORD, make_cast, make_contact, make_deal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, base, email):
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base + "/")


def watch_console(page):
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_rep_creates_contact_logs_call_and_moves_deal(live_server, page):
    cast = make_cast()
    base = live_server.url
    errors = watch_console(page)
    login(page, base, cast["bob"].email)

    # Create a contact through the form.
    page.goto(base + "/contacts/new/")
    page.fill("input[name=email]", "Grace.Hopper@Navy.example")
    page.fill("input[name=first_name]", "Grace")
    page.fill("input[name=last_name]", "Hopper")
    page.fill("input[name=title]", "Rear Admiral")
    page.click("form.record-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/contacts/\d+/$"))
    contact = Contact.objects.get(email="grace.hopper@navy.example")
    expect(page).to_have_url(f"{base}/contacts/{contact.pk}/")
    expect(page.locator("h1")).to_contain_text("Grace Hopper")

    # It is in the list, and search finds it.
    page.goto(base + "/contacts/")
    expect(page.locator("table")).to_contain_text("grace.hopper@navy.example")
    page.fill("input[name=q] >> nth=-1", "hopp")
    page.keyboard.press("Enter")
    expect(page.locator("table")).to_contain_text("Grace")

    # Log a call from the record page; it appears on the timeline without a reload.
    page.goto(f"{base}/contacts/{contact.pk}/")
    page.click("[data-tab=qa-call]")
    form = page.locator("#qa-call")
    form.locator("[name=summary]").fill("Discovery call: wants a pilot in Q3")
    form.locator("button[type=submit]").click()
    expect(page.locator(".timeline")).to_contain_text("Discovery call: wants a pilot in Q3")
    page.reload()
    expect(page.locator(".timeline")).to_contain_text("Discovery call: wants a pilot in Q3")

    # Drag a deal card to the next stage on the pipeline board.
    stages = list(default_pipeline().stages.order_by("position"))
    champion = make_contact(None, owner=cast["bob"])
    deal = make_deal(None, stage=stages[0], contacts=[champion], owner=cast["bob"], name="Navy pilot")
    page.goto(base + "/deals/board/")
    card = page.locator(f"[data-deal-id='{deal.pk}']")
    target = page.locator(f"[data-stage-id='{stages[1].pk}'] [data-drop-zone]")
    expect(card).to_be_visible()
    with page.expect_response(lambda r: f"/deals/{deal.pk}/move/" in r.url) as answer:
        card.drag_to(target)
    assert answer.value.ok, answer.value.text()
    expect(target.locator(f"[data-deal-id='{deal.pk}']")).to_be_visible()
    page.wait_for_function(
        "id => !document.querySelector(`[data-deal-id='${id}']`).classList.contains('saving')", arg=str(deal.pk)
    )
    deal.refresh_from_db()
    assert deal.stage_id == stages[1].pk
    page.reload()
    expect(page.locator(f"[data-stage-id='{stages[1].pk}'] [data-deal-id='{deal.pk}']")).to_be_visible()

    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors


def test_exit_criteria_message_when_dragging_too_early(live_server, page):
    cast = make_cast()
    base = live_server.url
    login(page, base, cast["carol"].email)
    stages = list(default_pipeline().stages.order_by("position"))
    deal = make_deal(None, stage=stages[0], name="No contacts yet")  # stage 1 requires contacts
    page.goto(base + "/deals/board/")
    card = page.locator(f"[data-deal-id='{deal.pk}']")
    card.drag_to(page.locator(f"[data-stage-id='{stages[1].pk}'] [data-drop-zone]"))
    expect(page.locator(".board-error")).to_contain_text("Contacts")
    expect(page.locator(f"[data-stage-id='{stages[0].pk}'] [data-deal-id='{deal.pk}']")).to_be_visible()
    assert Deal.objects.get(pk=deal.pk).stage_id == stages[0].pk


def test_phone_layout_menu(live_server, page):
    cast = make_cast()
    base = live_server.url
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, base, cast["bob"].email)
    links = page.locator("#nav-links")
    expect(links).to_be_hidden()
    page.click(".nav-toggle")
    expect(links).to_be_visible()
    page.click("#nav-links >> text=Contacts")
    expect(page).to_have_url(base + "/contacts/")
