"""Issue 9's workflow journey in a real browser: a marketer builds the workflow in the builder at /workflows/
(form submitted → wait → send email → wait → if clicked → MQL and a task for the owner) and activates it; a visitor
fills the live form on its hosted page /f/<public_id>/; the real outbox consumer enrolls the contact, the real
runner waits (WORKFLOW_WAIT_SCALE shortens the waits, nothing skips them) and sends the email, which the real SMTP
sink receives; the visitor follows its tracked link, the tracking job processes the click, the runner takes the
yes branch, and the enrollments pages show the completed run with its steps."""

import os
import re
import tempfile
import time

import pytest
from django.test import override_settings
from django.urls import reverse
from playwright.sync_api import expect

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
SHOT = os.path.join(tempfile.gettempdir(), "shots", "workflow_builder.png")


def _add_step(page, place: str, step_type: str, fill) -> None:
    """Press the + at `place` ("parent:branch:index"), choose the step type, fill its panel, save it."""
    cards = page.locator(f".wf-card.wf-type-{step_type}")
    before = cards.count()
    page.locator(f'a.wf-add-button[data-add="{place}"]').click()
    page.locator(f'#panel a.wf-menu-item[href*="type={step_type}&"]').click()
    expect(page.locator("#panel .wf-step-form")).to_be_visible()
    fill(page.locator("#panel"))
    page.locator("#panel").get_by_role("button", name="Save step").click()
    expect(cards).to_have_count(before + 1)  # htmx's HX-Redirect reloaded the builder with the new card
    page.wait_for_load_state("load")


def _run_until(condition, step, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        step()
        time.sleep(0.1)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_build_in_the_browser_submit_the_form_click_the_email_and_see_the_completed_run(live_server, page, browser):
    from smarketing.accounts.models import Role
    from smarketing.core.tests.test_a11y_browser import log_in
    from smarketing.crm.models import Contact, Task
    from smarketing.email import sending, tracking
    from smarketing.email.models import EmailCampaign
    from smarketing.email.tests.campaign_fixtures import make_sender, make_template
    from smarketing.forms.tests.capture_fixtures import make_form
    from smarketing.jobs import outbox
    from smarketing.mail.testing import SmtpTestServer
    from smarketing.testing import make_cast, make_user
    from smarketing.workflows import runner
    from smarketing.workflows.models import Enrollment, StepRun, Workflow

    base = live_server.url
    cast = make_cast()
    maya = make_user("maya@example.com", role=Role.MANAGER, team_kind="marketing", name="Maya Manager")
    template = make_template(name="Demo follow-up", subject="Your demo")
    sender = make_sender()
    form = make_form(
        name="Demo request",
        title="Book a demo",
        default_owner=cast["bob"],
        consent_enabled=True,
        consent_text="Send me product news.",
    )
    # The email's links lead back to the hosted form (the browser here reaches no other site).
    landing = f"{base}/f/{form.public_id}/?utm_source=email"
    template.blocks[2]["html"] = template.blocks[2]["html"].replace("https://acme.example/post", landing)
    template.blocks[3]["href"] = landing
    template.save()
    server = SmtpTestServer().start()
    try:
        # 10 minutes × 0.0005 = 0.3 s; 6 hours × 0.0005 = 10.8 s to read the email and click.
        with override_settings(WORKFLOW_WAIT_SCALE=0.0005, SMARKETING_BASE_URL=base, **server.settings()):
            errors = []
            page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
            page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
            page.set_viewport_size({"width": 1280, "height": 900})

            # -- the marketer builds the workflow ---------------------------------------------------------
            log_in(page, base, maya.email)
            page.goto(base + reverse("workflows:workflow_list"))
            page.get_by_role("link", name="New workflow").first.click()
            # The whole page, deferred htmx included: a change fired before htmx binds the select sends nothing.
            page.wait_for_url(base + reverse("workflows:workflow_create"))
            page.wait_for_load_state("load")
            page.fill("#wf-name", "Demo request follow-up")
            page.select_option("#wf-trigger", "form_submitted")
            expect(page.locator("#t-form")).to_be_visible()  # htmx swapped in the trigger's fields
            page.select_option("#t-form", str(form.pk))
            page.get_by_role("button", name="Create workflow").click()
            workflow = Workflow.objects.get(name="Demo request follow-up")
            expect(page).to_have_url(base + reverse("workflows:builder", args=[workflow.pk]))
            assert workflow.trigger == {"type": "form_submitted", "params": {"form": form.pk}}

            _add_step(page, "::0", "wait", lambda p: p.locator("#p-minutes").fill("10"))

            def email(panel):
                panel.locator("#p-template").select_option(str(template.pk))
                panel.locator("#p-sender").select_option(str(sender.pk))

            _add_step(page, "::1", "send_email", email)
            _add_step(page, "::2", "wait", lambda p: p.locator("#p-hours").fill("6"))
            workflow.refresh_from_db()
            email_step = workflow.definition["steps"][1]["id"]

            def condition(panel):
                panel.locator("#p-email-step").select_option(email_step)
                panel.locator("#p-email-event").select_option("clicked")

            _add_step(page, "::3", "if", condition)
            workflow.refresh_from_db()
            branch = workflow.definition["steps"][3]["id"]
            _add_step(
                page, f"{branch}:yes:0", "change_lifecycle_stage", lambda p: p.locator("#p-stage").select_option("mql")
            )

            def task(panel):
                panel.locator("#p-title").fill("Call them")
                panel.locator("#p-due").fill("1")

            _add_step(page, f"{branch}:yes:1", "create_task", task)
            flow = page.locator("#flow")
            expect(flow).to_contain_text("Wait 10 minutes")
            expect(flow).to_contain_text("Send “Your demo”")
            expect(flow).to_contain_text("Change lifecycle stage to Marketing-qualified lead")
            expect(flow).to_contain_text("Create a task “Call them” for the owner, due in 1 day")

            page.locator("#wf-activate").click()
            expect(page.get_by_role("button", name="Pause")).to_be_visible()
            workflow.refresh_from_db()
            assert workflow.status == "active"
            os.makedirs(os.path.dirname(SHOT), exist_ok=True)
            page.screenshot(path=SHOT, full_page=True)

            # -- a visitor fills the hosted form ------------------------------------------------------------
            outbox.run_consumer("workflows", wait=True)  # the consumer's cursor starts after what came before
            visitor = browser.new_context(user_agent=CHROME)  # a person's browser, not a headless scanner's
            visit = visitor.new_page()
            visit.goto(f"{base}/f/{form.public_id}/")
            expect(visit.get_by_role("heading", name="Book a demo")).to_be_visible()
            visit.get_by_label("Work email").fill("ada@inbox.example")
            visit.get_by_label("First name").fill("Ada")
            visit.get_by_label("Send me product news.").check()
            visit.get_by_role("button", name="Submit").click()
            expect(visit.get_by_role("status")).to_have_text("Thank you! We'll be in touch.")
            ada = Contact.objects.get(email="ada@inbox.example")
            assert (ada.owner, ada.consent_status) == (cast["bob"], "granted")

            # -- the workflow runs for real -------------------------------------------------------------------
            outbox.run_consumer("workflows", wait=True)
            enrollment = Enrollment.objects.get(workflow=workflow, contact=ada)
            runner.run_once()  # the first wait starts
            enrollment.refresh_from_db()
            assert enrollment.status == "active"
            assert server.messages == []  # waited, not skipped

            def send():
                runner.run_once()
                for campaign in EmailCampaign.objects.filter(automated=True):
                    sending.run(campaign.pk)

            _run_until(lambda: server.messages, send, timeout=15)
            [message] = server.messages
            assert "ada@inbox.example" in message.message["To"]
            html = message.message.get_body(("html",)).get_content()
            link = re.search(rf'href="{re.escape(base)}(/e/c/[^"]+)"', html).group(1)

            time.sleep(2.1)  # a click within 2 s of sending is a mail scanner's, not a person's
            visit.goto(base + link)  # the tracked link redirects to the template's link
            expect(visit).to_have_url(re.compile(re.escape(f"/f/{form.public_id}/?utm_source=email")))
            expect(visit.get_by_role("heading", name="Book a demo")).to_be_visible()
            visitor.close()
            time.sleep(2.2)  # the tracking job holds hits back 2 s (machine-click detection)
            assert tracking.process_pending() >= 1

            _run_until(lambda: Enrollment.objects.get(pk=enrollment.pk).status != "active", runner.run_once, timeout=25)
            runs = list(StepRun.objects.filter(enrollment=enrollment).values_list("step_type", "status", "summary"))
            ada.refresh_from_db()
            assert ada.lifecycle_stage == "mql", runs
            task_row = Task.objects.get(contact=ada)
            assert (task_row.title, task_row.owner) == ("Call them", cast["bob"])
            assert Enrollment.objects.get(pk=enrollment.pk).status == "completed", runs

            # -- the marketer sees the completed run ----------------------------------------------------------
            page.goto(base + reverse("workflows:enrollment_list", args=[workflow.pk]))
            row = page.locator("tbody tr", has_text="ada@inbox.example")
            expect(row.locator(".wf-enrollment-completed")).to_be_visible()
            row.get_by_role("link").first.click()
            expect(page.locator("h1 .wf-enrollment-completed")).to_be_visible()
            steps = page.locator(".wf-path .wf-path-item")
            expect(steps).to_have_count(len(runs))
            assert [r[0] for r in runs] == [
                "wait",
                "send_email",
                "wait",
                "if",
                "change_lifecycle_stage",
                "create_task",
            ], runs
            expect(page.locator(".wf-path")).to_contain_text("Marketing-qualified lead")
            expect(page.locator(".wf-path")).to_contain_text("Call them")
            assert errors == [], errors
    finally:
        server.stop()
