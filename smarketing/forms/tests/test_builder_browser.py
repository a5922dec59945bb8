"""In a real browser: build a form (add a field, move it with the keyboard, watch the preview follow), save it,
publish it and read its snippet; and axe-core on the forms pages."""

import os
import tempfile

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from smarketing.core.tests.test_a11y_browser import AXE_URL, VIEWPORTS, log_in, run_axe, sqlite_only, watch_console

SHOTS = os.path.join(tempfile.gettempdir(), "smarketing-shots")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_build_preview_save_and_publish_a_form(live_server, page):
    from smarketing.forms.models import Form, FormStatus
    from smarketing.testing import PASSWORD, make_cast

    make_cast()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + reverse("login"))
    page.fill("input[name=username]", "mia@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.get_by_role("link", name="Forms").click()
    page.get_by_role("link", name="New form").first.click()
    page.fill("#form-name", "Pricing question")
    page.get_by_role("button", name="Create and edit").click()
    expect(page.locator("h1")).to_contain_text("Edit form: Pricing question")

    # Add a dropdown through htmx: the row and its choices appear, the preview draws it.
    page.select_option("#add-field-type", "select")
    page.get_by_role("button", name="+ Add field").click()
    expect(page.locator("#f1-choices")).to_be_visible()
    page.fill("#f1-label", "Team size")
    page.fill("#f1-key", "team_size")
    page.fill("#f1-choices", "1-10\n11-50")
    preview = page.locator("#form-preview")
    expect(preview).to_contain_text("Team size")
    expect(preview.locator("select option")).to_have_count(3)
    page.fill("#form-title", "Ask about pricing")
    expect(preview.locator("h3")).to_have_text("Ask about pricing")

    # Move it above the email field with the keyboard; focus follows the moved field.
    page.locator("#field-1-up").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#f0-key")).to_have_value("team_size")
    expect(page.locator("#field-0-down")).to_be_focused()
    page.screenshot(path=f"{SHOTS}-form-builder-1280.png", full_page=True)

    page.wait_for_load_state("networkidle")  # the last preview refresh is in (leaving the page would abort it)
    page.get_by_role("button", name="Save form").click()
    expect(page.locator(".messages, .toasts")).to_contain_text("Form saved")
    form = Form.objects.get(name="Pricing question")
    assert [f["key"] for f in form.fields] == ["team_size", "email"]
    assert form.fields[0]["choices"] == ["1-10", "11-50"]

    page.get_by_role("button", name="Publish").first.click()
    expect(page.locator("#embed-snippet")).to_contain_text(f'data-smarketing-form="{form.public_id}"')
    expect(page.locator("#hosted-url")).to_contain_text(f"/f/{form.public_id}/")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=f"{SHOTS}-form-overview-390.png", full_page=True)
    assert Form.objects.get(pk=form.pk).status == FormStatus.LIVE
    assert errors == [], errors


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_forms_pages_have_no_serious_axe_violations(live_server, browser, axe_source, viewport):
    sqlite_only()
    from smarketing.accounts.access import system_actor
    from smarketing.forms import services
    from smarketing.forms.tests.helpers import add_submission
    from smarketing.testing import make_cast, make_contact

    cast = make_cast()
    form = services.create_form(system_actor(), name="Demo request", starter="demo_request")
    services.publish_form(system_actor(), form)
    submission = add_submission(form, contact=make_contact(email="ada@x.test"), email="ada@x.test")
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    page.route("**" + AXE_URL, lambda route: route.fulfill(path=axe_source, content_type="text/javascript"))
    errors = watch_console(page)
    base = live_server.url
    log_in(page, base, cast["alice"].email)
    problems = []
    for path in [
        reverse("forms:list"),
        reverse("forms:create"),
        reverse("forms:edit", args=[form.pk]),
        reverse("forms:overview", args=[form.pk]),
        reverse("forms:submissions", args=[form.pk]),
        reverse("forms:submission", args=[form.pk, submission.pk]),
    ]:
        response = page.goto(base + path)
        assert response.status == 200, f"{path} answered {response.status}"
        page.wait_for_load_state("networkidle")
        for violation in run_axe(page, base):
            if violation["impact"] in ("serious", "critical"):
                nodes = "\n".join(f"      {n['target']}: {n['summary']}" for n in violation["nodes"][:10])
                problems.append(f"{path} [{violation['impact']}] {violation['id']}: {violation['help']}\n{nodes}")
    context.close()
    assert not problems, "\n".join(problems)
    assert errors == [], "\n".join(errors)
