"""WCAG 2.1 AA in a real browser: axe-core and the console on every main page at 1280 and 390 px, and the three
keyboard journeys (log in, log a call, move a deal) done with the keyboard alone, with a visible focus throughout.

axe-core comes from its npm package (conftest.py's `axe_source`, scripts/fetch_axe.sh). The page's CSP stays on:
the script is served on the page's own origin by Playwright's router, so no inline script is needed.
"""

import pytest
from django.db import connection
from django.urls import reverse
from playwright.sync_api import expect

from smarketing.crm import services
from smarketing.crm.defaults import default_pipeline
from smarketing.crm.models import Deal
from smarketing.testing import PASSWORD, make_cast, make_company, make_contact, make_deal
from smarketing.timeline.models import Touchpoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_URL = "/__axe__/axe.min.js"  # answered by the test's router, never by the app
VIEWPORTS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

# The focused element shows a ring: an outline or a box shadow (the CSS uses outlines; both are accepted).
VISIBLE_FOCUS_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {ok: false, what: "body"};
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
  const shadow = s.boxShadow && s.boxShadow !== "none";
  return {ok: outline || shadow, what: el.outerHTML.slice(0, 120) + " (outline " + s.outlineStyle + ")"};
}"""


def sqlite_only():
    # These pages test no database behaviour; PostgreSQL runs would only double the browser time.
    if connection.vendor == "postgresql":
        pytest.skip("browser accessibility checks run on SQLite only")


def log_in(page, base, email):
    page.goto(base + reverse("login"))
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base + "/")


def watch_console(page) -> list[str]:
    errors = []
    page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    return errors


def assert_visible_focus(page, step: str):
    for _ in range(20):  # styles follow focus within a frame or two (a date field focuses its inner part first)
        focus = page.evaluate(VISIBLE_FOCUS_JS)
        if focus["ok"]:
            return
        page.wait_for_timeout(50)
    assert focus["ok"], f"after {step}: no visible focus on {focus['what']}"


def tab_to(page, selector: str, limit: int = 80):
    """Press Tab until `selector` has focus, checking that every element on the way shows its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            assert_visible_focus(page, f"tabbing to {selector}")
            return
        assert_visible_focus(page, f"tabbing towards {selector}")
    raise AssertionError(f"{selector} not reached with {limit} presses of Tab")


def make_world():
    """A little of everything the main pages show: records, a deal, a note, a call, a task."""
    cast = make_cast()
    company = make_company(None, name="Initech", domain="initech.example", owner=cast["bob"])
    contact = make_contact(None, first_name="Peter", last_name="Gibbons", company=company, owner=cast["bob"])
    deal = make_deal(None, name="Initech renewal", company=company, owner=cast["bob"], contacts=[contact])
    services.add_note(
        contact, body_html="<p>Prefers <a href='https://initech.example'>email</a>.</p>", actor=cast["bob"]
    )
    services.log_activity(contact, kind="call", summary="Intro call", outcome="Connected", actor=cast["bob"])
    services.create_task(actor=cast["bob"], title="Send the proposal", contact=contact)
    return cast, contact, company, deal


def main_pages(contact, company, deal) -> list[str]:
    return [
        reverse("home"),
        reverse("home_tab", args=["rep"]),
        reverse("home_tab", args=["marketing"]),
        reverse("home_tab", args=["manager"]),
        reverse("notifications:list"),
        reverse("notifications:preferences"),
        reverse("search") + "?q=a",
        reverse("contact_list"),
        reverse("company_list"),
        reverse("deal_list"),
        reverse("pipeline_board"),
        reverse("task_list"),
        reverse("process:inbox"),
        reverse("process:team"),
        reverse("process:report"),
        reverse("process:settings"),
        reverse("process:map"),
        reverse("process:stages"),
        reverse("process:analytics"),
        reverse("process:mail"),
        reverse("contact_detail", args=[contact.pk]),
        reverse("company_detail", args=[company.pk]),
        reverse("deal_detail", args=[deal.pk]),
        reverse("dataio:import_list"),
        reverse("jobs:job_list"),
        reverse("webhooks:endpoint_list"),
        reverse("privacy:log"),
        reverse("audit_log"),
        reverse("property_list"),
        reverse("settings_index"),
        reverse("settings_users"),
        reverse("settings_user", args=[deal.owner_id or contact.pk]),
        reverse("settings_teams"),
        reverse("settings_pipelines"),
        reverse("settings_pipeline", args=[deal.pipeline_id]),
        reverse("settings_stage", args=[deal.stage_id]),
        reverse("settings_lifecycle"),
        reverse("api:token_list"),
        reverse("profile"),
    ]


def run_axe(page, base: str) -> list[dict]:
    page.add_script_tag(url=base + AXE_URL)
    return page.evaluate(
        """() => axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
            "best-practice"]}, resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary}))})))"""
    )


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_main_pages_have_no_console_errors_and_no_serious_axe_violations(live_server, browser, axe_source, viewport):
    sqlite_only()
    cast, contact, company, deal = make_world()
    context = browser.new_context(viewport=VIEWPORTS[viewport])  # CSP stays on: violations are console errors
    page = context.new_page()
    page.route("**" + AXE_URL, lambda route: route.fulfill(path=axe_source, content_type="text/javascript"))
    errors = watch_console(page)
    base = live_server.url
    log_in(page, base, cast["alice"].email)
    problems = []
    for path in main_pages(contact, company, deal):
        response = page.goto(base + path)
        assert response.status == 200, f"{path} answered {response.status}"
        page.wait_for_load_state("networkidle")
        for violation in run_axe(page, base):
            if violation["impact"] in ("serious", "critical"):
                nodes = "\n".join(f"      {n['target']}: {n['summary']}" for n in violation["nodes"][:10])
                problems.append(f"{path} [{violation['impact']}] {violation['id']}: {violation['help']}\n{nodes}")
    context.close()
    assert not problems, f"axe-core at {viewport} ({VIEWPORTS[viewport]['width']} px):\n" + "\n".join(problems)
    assert errors == [], "console errors:\n" + "\n".join(errors)


def test_log_out_and_every_navigation_item_fit_on_one_line_at_1280(live_server, page):
    sqlite_only()
    cast = make_cast()
    page.set_viewport_size(VIEWPORTS["laptop"])
    log_in(page, live_server.url, cast["alice"].email)
    heights = page.evaluate(
        """() => [...document.querySelectorAll('.nav-links a, .sidebar-user .link-button')].map(el => {
            const r = el.getBoundingClientRect(); const line = parseFloat(getComputedStyle(el).lineHeight);
            return {text: el.textContent.trim(), lines: Math.round((r.height - parseFloat(getComputedStyle(el)
              .paddingTop) - parseFloat(getComputedStyle(el).paddingBottom)) / line)}; })"""
    )
    assert {h["text"] for h in heights} >= {"Contacts", "Settings", "Audit log", "Log out"}
    assert [h for h in heights if h["lines"] != 1] == []


def test_keyboard_log_in_with_a_skip_link_and_visible_focus(live_server, page):
    cast = make_cast()
    base = live_server.url
    page.goto(base + reverse("login"))
    expect(page.locator("input[name=username]")).to_be_focused()  # autofocus: typing can start at once
    assert_visible_focus(page, "opening the login page")
    page.keyboard.type(cast["bob"].email)
    page.keyboard.press("Tab")
    expect(page.locator("input[name=password]")).to_be_focused()
    assert_visible_focus(page, "Tab to the password")
    page.keyboard.type("wrong password")
    page.keyboard.press("Enter")
    expect(page.locator(".form-errors")).to_be_visible()
    tab_to(page, "input[name=password]")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    expect(page.locator("button[type=submit]")).to_be_focused()
    assert_visible_focus(page, "Tab to Log in")
    page.keyboard.press("Enter")
    expect(page).to_have_url(base + "/")
    # The skip link jumps past the navigation: the next Tab lands in the page's content, not the sidebar.
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    # The jump moves focus to the content (app.js, after the hash changes): wait for it before the next Tab, or
    # the Tab can overtake it and start from the skip link.
    expect(page.locator("#content")).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.getElementById('content').contains(document.activeElement)")
    assert_visible_focus(page, "Tab after the skip link")


def test_keyboard_log_a_call_focus_returns_and_the_outcome_is_announced(live_server, page):
    cast = make_cast()
    contact = make_contact(None, first_name="Jane", last_name="Keys", owner=cast["bob"])
    base = live_server.url
    errors = watch_console(page)
    log_in(page, base, cast["bob"].email)
    page.goto(base + reverse("contact_detail", args=[contact.pk]))

    # Tab to the selected quick-action tab (Note), then the arrow key selects Call and keeps focus on it.
    tab_to(page, "#qa-tab-note")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#qa-tab-call")).to_be_focused()
    expect(page.locator("#qa-tab-call")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#qa-call")).to_be_visible()
    assert_visible_focus(page, "ArrowRight to the Call tab")

    # Sending it empty: focus goes to the invalid field, whose error is read with it, and the outcome is said.
    tab_to(page, "#qa-call button[type=submit]")
    with page.expect_response(lambda r: "/activity/" in r.url):
        page.keyboard.press("Enter")
    expect(page.locator("#id_call_summary")).to_be_focused()
    assert_visible_focus(page, "a refused save")
    described = page.get_attribute("#id_call_summary", "aria-describedby")
    assert described and page.locator(f"#{described.split()[0]}").count() == 1
    expect(page.locator("#a11y-status")).to_contain_text("Not saved")

    page.keyboard.type("Walked through the rollout plan")
    page.keyboard.press("Tab")  # the outcome select: arrow keys choose, nothing is sent
    page.keyboard.press("ArrowDown")
    expect(page.locator("#id_call_outcome")).not_to_have_value("")
    tab_to(page, "#qa-call button[type=submit]")
    with page.expect_response(lambda r: "/activity/" in r.url):
        page.keyboard.press("Enter")
    expect(page.locator("#timeline-list > li").first).to_contain_text("Walked through the rollout plan")
    expect(page.locator("#qa-tab-call")).to_be_focused()  # not <body>: the next Tab goes on from here
    assert_visible_focus(page, "a successful save")
    # Spoken once: by the toast's live region, not a second time by a11y.js's status region.
    expect(page.locator("#toasts")).to_contain_text("Call logged")
    expect(page.locator("#a11y-status")).not_to_contain_text("Call logged")
    assert Touchpoint.objects.filter(contact=contact, kind="call_logged").count() == 1
    assert errors == []


def test_keyboard_move_a_deal_on_the_board(live_server, page):
    cast = make_cast()
    buyer = make_contact(None, first_name="Bill", last_name="Lumbergh", owner=cast["bob"])
    deal = make_deal(None, name="Keyboard deal", owner=cast["bob"], contacts=[buyer])  # exit criteria met
    stages = list(default_pipeline().stages.order_by("position"))
    base = live_server.url
    errors = watch_console(page)
    log_in(page, base, cast["bob"].email)
    page.goto(base + reverse("pipeline_board"))

    card = page.locator(f"#deal-card-{deal.pk}")
    tab_to(page, f"#deal-card-{deal.pk} summary")
    page.keyboard.press("Enter")  # opens "Move to…"
    page.keyboard.press("Tab")
    expect(card.locator("select[name=stage]")).to_be_focused()
    assert_visible_focus(page, "Tab to the stage select")
    card.locator("select[name=stage]").select_option(str(stages[1].pk))  # the keyboard choice, made directly
    page.keyboard.press("Tab")
    expect(card.locator("button[type=submit]")).to_be_focused()
    assert_visible_focus(page, "Tab to Move")
    with page.expect_response(lambda r: "/move/" in r.url):
        page.keyboard.press("Enter")
    expect(page.locator("#board-error")).to_be_hidden()
    column = page.locator(f".board-column[data-stage-id='{stages[1].pk}']")
    expect(column.locator(f"#deal-card-{deal.pk}")).to_be_visible()
    expect(card.locator("summary")).to_be_focused()  # focus stays with the moved card
    assert_visible_focus(page, "the move")
    # The outcome is announced: the toast's live region says what moved (board.js falls back to #board-status).
    expect(page.locator("#toasts")).to_contain_text(deal.name)
    assert Deal.objects.get(pk=deal.pk).stage_id == stages[1].pk
    assert errors == []


def test_error_pages_at_1280_and_390_keep_the_layout(live_server, page):
    sqlite_only()
    cast = make_cast()
    base = live_server.url
    log_in(page, base, cast["bob"].email)
    for viewport in VIEWPORTS.values():
        page.set_viewport_size(viewport)
        response = page.goto(base + "/no-such-page/")
        assert response.status == 404
        expect(page.locator("h1")).to_have_text("Page not found")
        expect(page.locator(".nav-links a", has_text="Contacts")).to_have_count(1)
        expect(page.locator(".skip-link")).to_have_count(1)
