"""In a real browser: a marketer builds an email from blocks (heading, text, button, footer), inserts a merge
field with the picker, previews it as a contact and sees the field filled in, at desktop and phone widths."""

import os

import pytest
from django.urls import reverse
from playwright.sync_api import expect

SCREENS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "var", "screens")


def _log_in(page, live_server, email):
    from smarketing.testing import PASSWORD

    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def _save(page, block):
    """Click the block's Save and wait for the block list to come back (the next edit must not race the swap)."""
    with page.expect_response(lambda r: "/blocks/" in r.url and r.request.method == "POST"):
        block.locator("button:has-text('Save block')").click()
    page.wait_for_load_state("networkidle")


def _shot(page, name):
    os.makedirs(SCREENS, exist_ok=True)
    # caret="initial": hiding the caret leaves an empty style attribute on every input, which htmx then copies
    # while settling a swap, and the page's CSP (no inline styles) reports it as a violation.
    page.screenshot(path=os.path.join(SCREENS, name), full_page=True, caret="initial")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_marketer_builds_an_email_and_previews_it_as_a_contact(live_server, page):
    from smarketing.email.models import Brand, EmailTemplate
    from smarketing.testing import make_cast, make_company, make_contact

    cast = make_cast()
    Brand.objects.create(pk=1, company_name="Acme Analytics", postal_address="1 Main Street\nSpringfield")
    company = make_company(name="Globex", domain="globex.example")
    make_contact(first_name="Grace", last_name="Hopper", email="grace@globex.example", company=company)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.set_viewport_size({"width": 1280, "height": 900})

    _log_in(page, live_server, cast["mia"].email)
    page.goto(live_server.url + reverse("email:template_list"))
    expect(page.get_by_text("No templates yet")).to_be_visible()
    page.click("summary:has-text('New template')")
    page.fill("#new-template-name", "Spring launch")
    page.click("button:has-text('Create')")
    expect(page.locator("h1")).to_have_text("Spring launch")
    template = EmailTemplate.objects.get(name="Spring launch")
    blocks = {b["type"]: b["id"] for b in template.blocks}
    assert set(blocks) >= {"heading", "text", "button", "footer"}

    # Subject with a merge field from the picker (inserted where the cursor is).
    page.fill("#tpl-subject", "News for ")
    page.click("#tpl-subject")
    page.keyboard.press("End")
    page.click(".merge-picker [data-merge-tag]:has-text('First name')")
    expect(page.locator("#tpl-subject")).to_have_value('News for {{ contact.first_name|default:"there" }}')
    page.click("#template-settings button:has-text('Save')")
    expect(page.locator("[data-preview-subject]")).to_have_text("News for Ada")

    # The heading, the text and the button, edited inline.
    heading = page.locator(f"#block-{blocks['heading']}")
    heading.locator("input[name=text]").fill("Hello {{ company.name }} team")
    _save(page, heading)
    text = page.locator(f"#block-{blocks['text']}")
    text.locator("textarea").fill("Dear {{ contact.first_name }},\n\nOur <b>spring</b> release is out.")
    _save(page, text)
    button = page.locator(f"#block-{blocks['button']}")
    button.locator("input[name=href]").fill("javascript:alert(1)")
    _save(page, button)
    expect(page.locator(f"#block-{blocks['button']}-error")).to_contain_text("https://")
    page.locator(f"#block-{blocks['button']}").locator("input[name=href]").fill("https://acme.example/spring")
    page.locator(f"#block-{blocks['button']}").locator("input[name=label]").fill("See what's new")
    _save(page, page.locator(f"#block-{blocks['button']}"))
    expect(page.locator(f"#block-{blocks['button']}-error")).to_have_count(0)

    # Keyboard-friendly reordering: move the text block above the heading, then back.
    page.get_by_role("button", name="Move text block 3 up").click()
    expect(page.locator(".block-card").nth(1)).to_have_attribute("data-block-type", "text")
    page.get_by_role("button", name="Move text block 2 down").click()
    expect(page.locator(".block-card").nth(2)).to_have_attribute("data-block-type", "text")

    frame = page.frame_locator(".preview-frame")
    expect(frame.locator("h1")).to_have_text("Hello Analytical Engines Ltd team")
    expect(frame.get_by_text("Dear Ada,")).to_be_visible()
    _shot(page, "email_editor_1280.png")

    # Preview as a real contact: the search picker, then the personalized email and subject.
    page.fill("#preview-contact-q", "grace")
    page.click("[data-preview-contact]")
    expect(page.locator("[data-preview-who]")).to_contain_text("grace@globex.example")
    expect(page.locator("[data-preview-subject]")).to_have_text("News for Grace")
    frame = page.frame_locator(".preview-frame")
    expect(frame.locator("h1")).to_have_text("Hello Globex team")
    expect(frame.get_by_text("Dear Grace,")).to_be_visible()
    expect(frame.get_by_role("link", name="See what's new")).to_have_attribute("href", "https://acme.example/spring")
    expect(frame.get_by_role("link", name="Unsubscribe")).to_be_visible()
    expect(frame.get_by_text("1 Main Street")).to_be_visible()

    page.click("[data-preview-width=phone]")
    expect(page.locator("[data-preview-wrap]")).to_have_class("preview-frame-wrap phone")
    assert page.locator(".preview-frame").bounding_box()["width"] <= 376
    page.click("summary:has-text('Add a block')")
    page.click(".add-block-option:has-text('Divider')")
    expect(page.locator(".block-card[data-block-type=divider]")).to_have_count(1)
    expect(page.locator("[data-preview-wrap]")).to_have_class("preview-frame-wrap phone")  # kept across reloads

    page.click("button:has-text('Send a test to me')")
    expect(page.locator("#toasts")).to_contain_text("Sent a test to mia@example.com")
    _shot(page, "email_editor_preview_1280.png")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + reverse("email:template_edit", args=[template.pk]))
    expect(page.locator("h1")).to_have_text("Spring launch")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "email_editor_390.png")
    page.goto(live_server.url + reverse("email:template_list"))
    _shot(page, "email_templates_390.png")
    assert errors == []
