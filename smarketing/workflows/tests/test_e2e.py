"""Issue 9's workflow journey end to end, without a browser: built through the builder's HTTP endpoints
(form submitted → wait → send email → wait → if clicked → MQL and a task for the owner), activated, set off by a real
`form.submitted` outbox event, run by the real runner with WORKFLOW_WAIT_SCALE shortening the wait (not
skipping it), the email received by the real SMTP sink, its tracked link followed through the click endpoint,
the click processed by the tracking job, and the contact ends up MQL with a task for its owner."""

import re
import time

from django.test import TransactionTestCase, override_settings
from django.urls import reverse

from smarketing.accounts.models import Role
from smarketing.core.events import publish
from smarketing.crm.models import ConsentStatus, Contact, Task
from smarketing.email import sending, tracking
from smarketing.email.tests.campaign_fixtures import make_sender, make_template
from smarketing.jobs import outbox
from smarketing.mail.testing import SmtpTestServer
from smarketing.testing import PASSWORD, make_cast, make_contact, make_user
from smarketing.workflows import runner
from smarketing.workflows.models import Enrollment, Workflow


@override_settings(WORKFLOW_WAIT_SCALE=0.0005, SMARKETING_BASE_URL="http://testserver")
class WorkflowJourneyTests(TransactionTestCase):
    def setUp(self):
        self.server = SmtpTestServer().start()
        self.addCleanup(self.server.stop)
        smtp = override_settings(**self.server.settings())
        smtp.enable()
        self.addCleanup(smtp.disable)
        self.cast = make_cast()
        self.maya = make_user("maya@example.com", role=Role.MANAGER, team_kind="marketing")
        self.template = make_template(subject="Your demo")
        self.sender = make_sender()

    def post(self, route, *args, **data):
        return self.client.post(reverse(f"workflows:{route}", args=args), data)

    def test_form_submitted_wait_email_click_mql_and_task(self):
        self.client.login(email=self.maya.email, password=PASSWORD)
        self.post("workflow_create", name="Demo request", trigger_type="form_submitted", t_form="")
        wf = Workflow.objects.get(name="Demo request")
        self.post("step_new", wf.pk, type="wait", p_mode="duration", p_minutes="10")  # 10 min × 0.0005 = 0.3 s
        self.post("step_new", wf.pk, type="send_email", p_template=self.template.pk, p_sender=self.sender.pk)
        # Time to read it: 6 hours × 0.0005 = 10.8 s, then the branch on the click.
        self.post("step_new", wf.pk, type="wait", p_mode="duration", p_hours="6")
        wf.refresh_from_db()
        email_step = wf.definition["steps"][1]["id"]
        self.post("step_new", wf.pk, type="if", p_email_step=email_step, p_email_event="clicked")
        wf.refresh_from_db()
        branch = wf.definition["steps"][3]["id"]
        self.post(
            "step_new", wf.pk, type="change_lifecycle_stage", parent=branch, branch="yes", index="0", p_stage="mql"
        )
        self.post(
            "step_new",
            wf.pk,
            type="create_task",
            parent=branch,
            branch="yes",
            index="1",
            p_title="Call them",
            p_due_in_days="1",
        )
        self.post("activate", wf.pk)
        wf.refresh_from_db()
        self.assertEqual(wf.status, "active")

        ada = make_contact(
            email="ada@inbox.example", first_name="Ada", owner=self.cast["bob"], consent_status=ConsentStatus.GRANTED
        )
        outbox.run_consumer("workflows", wait=True)  # the cursor starts after what came before
        publish("form.submitted", ada, {"id": 1, "form": {"id": 1}, "contact_id": ada.pk, "email": ada.email})
        outbox.run_consumer("workflows", wait=True)
        enrollment = Enrollment.objects.get(workflow=wf, contact=ada)

        runner.run_once()  # the wait starts
        enrollment.refresh_from_db()
        self.assertEqual(enrollment.status, "active")
        self.assertEqual(self.server.messages, [])  # waited, not skipped
        deadline = time.monotonic() + 10
        while not self.server.messages and time.monotonic() < deadline:
            runner.run_once()
            from smarketing.email.models import EmailCampaign

            for ec in EmailCampaign.objects.filter(automated=True):
                sending.run(ec.pk)
            time.sleep(0.1)
        [message] = self.server.messages
        html = message.message.get_body(("html",)).get_content()
        link = re.search(r'href="http://testserver(/e/c/[^"]+)"', html).group(1)
        self.client.logout()
        time.sleep(2.1)  # a click within 2 s of sending is a mail scanner's, not a person's
        browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
        self.assertEqual(self.client.get(link, headers={"User-Agent": browser}).status_code, 302)  # tracked redirect
        time.sleep(2.2)  # the tracking job holds hits back 2 s (machine-click detection)
        tracking.process_pending()

        deadline = time.monotonic() + 20
        while Enrollment.objects.get(pk=enrollment.pk).status == "active" and time.monotonic() < deadline:
            runner.run_once()
            time.sleep(0.1)
        ada.refresh_from_db()
        from smarketing.email.models import EmailSend
        from smarketing.workflows.models import StepRun

        runs = list(
            StepRun.objects.filter(enrollment=enrollment).values_list("step_type", "status", "summary", "result")
        )
        sends = list(EmailSend.objects.values_list("id", "first_clicked_at", "clicks", "machine_clicks"))
        self.assertEqual(ada.lifecycle_stage, "mql", (runs, sends))
        task = Task.objects.get(contact=ada)
        self.assertEqual((task.title, task.owner), ("Call them", self.cast["bob"]))
        self.assertEqual(Enrollment.objects.get(pk=enrollment.pk).status, "completed")
        self.assertEqual(Contact.objects.get(pk=ada.pk).lifecycle_stage, "mql")
