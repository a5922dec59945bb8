"""The admin's journey in a real browser: create a pipeline with three stages and an exit criterion, reorder
stages by drag and by keyboard, invite a user, who opens the emailed link, sets a password and is logged in."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from smarketing.accounts.models import User
from smarketing.crm.models import Pipeline
from smarketing.testing import PASSWORD, make_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, base, email, password=PASSWORD):
    page.goto(base + "/accounts/login/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(base + "/")


def watch_console(page):
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def stage_names(page):
    return page.locator("[data-stage-row] td:nth-child(2)").all_inner_texts()


def test_admin_sets_up_a_pipeline_and_invites_a_user(live_server, page, browser, settings, tmp_path):
    shots = tmp_path  # screenshots at 1280 and 390 px, for a person to look at
    settings.SITE_URL = live_server.url
    cast = make_cast()
    base = live_server.url
    errors = watch_console(page)
    login(page, base, cast["alice"].email)

    # From the sidebar to the settings index to the pipelines page.
    page.click("nav.sidebar >> text=Settings")
    expect(page.locator("h1")).to_have_text("Settings")
    page.click(".settings-index >> text=Pipelines and stages")
    page.fill("input[name=name]", "Partner pipeline")
    page.click("text=Create pipeline")
    expect(page.locator("h1")).to_contain_text("Partner pipeline")
    pipeline = Pipeline.objects.get(name="Partner pipeline")

    # Three stages; the first needs a contact before a deal may leave it.
    add = page.locator("#add-stage")
    add.locator("input[name=name]").fill("Intro call")
    add.locator("input[name=probability]").fill("20")
    add.locator("input[name=target_days]").fill("7")
    add.get_by_label("At least one contact").check()
    add.locator("button[type=submit]").click()
    expect(page.locator("#toasts")).to_contain_text("Added the stage Intro call")
    for name, outcome, probability in (("Won", "won", "100"), ("Lost", "lost", "0")):
        add = page.locator("#add-stage")
        add.locator("input[name=name]").fill(name)
        add.locator("input[name=probability]").fill(probability)
        add.locator("select[name=outcome]").select_option(outcome)
        add.locator("button[type=submit]").click()
        expect(page.locator("#toasts")).to_contain_text(f"Added the stage {name}")
    assert stage_names(page) == ["Intro call", "Won", "Lost"]
    expect(page.locator(f"#stage-{pipeline.stages.get(name='Intro call').pk}")).to_contain_text("At least one contact")
    intro = pipeline.stages.get(name="Intro call")
    assert intro.exit_criteria == ["contacts"] and intro.target_days == 7

    # Reorder by drag (Lost above Won), then back with the keyboard (the ↓ button, pressed with Enter).
    lost_row = page.locator("[data-stage-row]", has_text="Lost")
    won_row = page.locator("[data-stage-row]", has_text="Won")
    with page.expect_navigation():
        lost_row.locator(".stage-handle").drag_to(won_row, target_position={"x": 10, "y": 2})
    assert stage_names(page) == ["Intro call", "Lost", "Won"]
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=f"{shots}/pipeline-1280.png", full_page=True)
    page.get_by_role("button", name="Move Lost down").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert stage_names(page) == ["Intro call", "Won", "Lost"]
    assert list(pipeline.stages.order_by("position").values_list("name", flat=True)) == ["Intro call", "Won", "Lost"]

    # Invite a user.
    page.goto(base + "/settings/users/")
    page.click("text=Invite a user")
    page.fill("input[name=email]", "newrep@example.com")
    page.fill("input[name=full_name]", "Nora Newrep")
    page.select_option("select[name=team]", label="Sales")
    page.click("text=Send the invitation")
    expect(page.locator("table")).to_contain_text("Nora Newrep")
    expect(page.locator("table")).to_contain_text("Invited")
    page.screenshot(path=f"{shots}/users-1280.png", full_page=True)
    assert len(mail.outbox) == 1
    link = re.search(r"http\S+/accounts/invite/\S+", mail.outbox[0].body).group(0)

    # The invited person, in their own browser: sets a password from the link and lands on their home page.
    context = browser.new_context(viewport={"width": 390, "height": 844})
    newcomer = context.new_page()
    newcomer_errors = watch_console(newcomer)
    newcomer.goto(link)
    expect(newcomer.locator("h1")).to_have_text("Welcome to Smarketing")
    newcomer.screenshot(path=f"{shots}/invite-390.png", full_page=True)
    newcomer.fill("input[name=new_password1]", "nora-sets-a-good-one-9")
    newcomer.fill("input[name=new_password2]", "nora-sets-a-good-one-9")
    newcomer.click("text=Set password and log in")
    expect(newcomer).to_have_url(base + "/")
    expect(newcomer.locator("#toasts")).to_contain_text("Welcome, Nora Newrep")
    assert User.objects.get(email="newrep@example.com").check_password("nora-sets-a-good-one-9")

    # The link is spent; logging in with the new password works.
    newcomer.context.clear_cookies()
    newcomer.goto(link)
    expect(newcomer.locator("h1")).to_have_text("This invitation no longer works")
    login(newcomer, base, "newrep@example.com", "nora-sets-a-good-one-9")
    context.close()

    # A custom property's key is suggested from its label, and kept once typed by hand.
    page.goto(base + "/settings/properties/")
    page.fill("input[name=label]", "Deal size (€) / Région")
    expect(page.locator("input[name=key]")).to_have_value("deal_size_region")
    page.fill("input[name=key]", "size")
    page.fill("input[name=label]", "Deal size")
    expect(page.locator("input[name=key]")).to_have_value("size")

    # A few more pages at both widths, for the eye.
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        for name, path in (
            ("index", "/settings/"),
            ("pipeline", f"/settings/pipelines/{pipeline.pk}/"),
            ("stage", f"/settings/stages/{intro.pk}/"),
            ("lifecycle", "/settings/lifecycle/"),
            ("user", f"/settings/users/{cast['bob'].pk}/"),
            ("deactivate", f"/settings/users/{cast['bob'].pk}/deactivate/"),
            ("teams", "/settings/teams/"),
            ("properties", "/settings/properties/"),
        ):
            page.goto(base + path)
            page.screenshot(path=f"{shots}/{name}-{width}.png", full_page=True)
    assert errors == [] and newcomer_errors == []


def test_forgot_password_from_the_login_page(live_server, page, settings):
    settings.SITE_URL = live_server.url
    cast = make_cast()
    base = live_server.url
    page.goto(base + "/accounts/login/")
    page.click("text=Forgot password?")
    page.fill("input[name=email]", cast["bob"].email)
    page.click("text=Send the link")
    expect(page.locator("h1")).to_have_text("Check your email")
    link = re.search(r"http\S+/accounts/password/reset/\S+", mail.outbox[0].body).group(0)
    page.goto(link)
    page.fill("input[name=new_password1]", "bob-has-a-new-one-7")
    page.fill("input[name=new_password2]", "bob-has-a-new-one-7")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Password changed")
    login(page, base, cast["bob"].email, "bob-has-a-new-one-7")
