"""Each workflow action for real: its effect through the owning app's service, its skipped cases, idempotency.

The engine calls `run()` inside the transaction that records the StepRun; here a real workflow, enrollment and
step run stand around each step (tests/helpers.py), the email goes through the real SMTP sink and the webhook
to a real HTTP server on 127.0.0.1.
"""

import json
import unittest

from django.core.exceptions import ValidationError
from django.test import TestCase, override_settings

from smarketing.accounts.access import system_actor
from smarketing.accounts.models import Team
from smarketing.core.models import Event, Origin
from smarketing.crm.models import ConsentStatus, Contact, LifecycleChange, ObjectType, Task
from smarketing.crm.services.properties import define_property
from smarketing.email import sending
from smarketing.email.models import CampaignStatus, EmailSend, SendStatus
from smarketing.email.tests.campaign_fixtures import make_sender, make_template
from smarketing.mail.suppression import suppress
from smarketing.mail.testing import SmtpTestServer
from smarketing.notifications.models import Notification
from smarketing.segments import services as segments
from smarketing.segments.models import ListMembership
from smarketing.testing import make_cast, make_company, make_contact
from smarketing.timeline.models import Touchpoint
from smarketing.webhooks.signing import verify
from smarketing.webhooks.tests.receiver import Receiver
from smarketing.workflows import webhook_calls
from smarketing.workflows.actions import get
from smarketing.workflows.models import StepEmail, WebhookCall, WebhookCallStatus
from smarketing.workflows.tests.helpers import dry_run, make_workflow, run, step_context

try:
    from smarketing.scoring.services import adjust_score as _adjust_score  # noqa: F401

    HAS_SCORING = True
except ImportError:
    HAS_SCORING = False
try:
    from smarketing.workflows.services import enroll as _enroll  # noqa: F401

    HAS_ENGINE = True
except ImportError:
    HAS_ENGINE = False


class SetPropertyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        define_property(actor=cls.cast["alice"], object_type=ObjectType.CONTACT, key="plan", label="Plan", type="text")
        cls.ada = make_contact(email="ada@example.com", first_name="Ada")

    def test_sets_a_builtin_property_through_the_crm_service(self):
        outcome = run(step_context("set_property", {"field": "title", "value": "CTO"}, self.ada))
        self.assertEqual(outcome.status, "done")
        self.assertEqual(outcome.summary, "Set Job title to CTO")
        self.ada.refresh_from_db()
        self.assertEqual(self.ada.title, "CTO")
        event = Event.objects.filter(name="contact.updated", object_id=str(self.ada.pk)).latest("id")
        self.assertEqual(event.payload["changed"], ["title"])
        # A second run of the same step says so instead of pretending to change anything.
        again = run(step_context("set_property", {"field": "title", "value": "CTO"}, self.ada))
        self.assertEqual(again.summary, "Job title was already CTO")

    def test_sets_and_clears_a_custom_property(self):
        run(step_context("set_property", {"field": "custom.plan", "value": "Pro"}, self.ada))
        self.ada.refresh_from_db()
        self.assertEqual(self.ada.custom["plan"], "Pro")
        outcome = run(step_context("set_property", {"field": "custom.plan", "clear": True}, self.ada))
        self.assertEqual(outcome.summary, "Cleared Plan")
        self.ada.refresh_from_db()
        self.assertNotIn("plan", self.ada.custom)

    def test_refuses_fields_a_workflow_may_not_set(self):
        action = get("set_property")
        for params in (
            {"field": "consent_status", "value": "granted"},  # never consent on someone's behalf
            {"field": "email", "value": "x@example.com"},
            {"field": "custom.nope", "value": "1"},
            {"field": "title"},
            {"field": "lead_status", "value": "bogus"},
            {"field": "title", "value": "x", "sql": "1"},
        ):
            with self.subTest(params=params), self.assertRaises(ValidationError):
                action.validate(params)

    def test_dry_run_changes_nothing(self):
        ctx = step_context("set_property", {"field": "custom.plan", "value": "Pro"}, self.ada, dry=True)
        self.assertEqual(dry_run(ctx).summary, "Would set Plan to Pro")
        self.ada.refresh_from_db()
        self.assertNotIn("plan", self.ada.custom)

    def test_run_batch_is_one_update_with_the_events_of_the_changed_rows(self):
        people = [make_contact(title="CTO" if i == 0 else "") for i in range(5)]
        workflow = make_workflow()
        ctxs = [
            step_context("set_property", {"field": "title", "value": "CTO"}, c, workflow=workflow, step_id="s1")
            for c in people
        ]
        before = Event.objects.filter(name="contact.updated").count()
        versions = dict(Contact.objects.filter(pk__in=[c.pk for c in people]).values_list("pk", "version"))
        with self.assertNumQueries(6):  # savepoint, update … returning, read of the changed, events, audit, release
            outcomes = get("set_property").run_batch(ctxs)
        after = dict(Contact.objects.filter(pk__in=[c.pk for c in people]).values_list("pk", "version"))
        self.assertEqual(
            {pk: after[pk] - versions[pk] for pk in after}, {c.pk: int(i > 0) for i, c in enumerate(people)}
        )
        payload = Event.objects.filter(name="contact.updated", object_id=str(people[1].pk)).latest("id").payload
        self.assertEqual((payload["title"], payload["changed"]), ("CTO", ["title"]))
        self.assertEqual([o.summary for o in outcomes][:2], ["Job title was already CTO", "Set Job title to CTO"])
        self.assertEqual(Contact.objects.filter(pk__in=[c.pk for c in people], title="CTO").count(), 5)
        self.assertEqual(Event.objects.filter(name="contact.updated").count() - before, 4)


class LifecycleTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_moves_forward_with_the_workflow_as_the_reason(self):
        lead = make_contact()
        workflow = make_workflow(name="MQL handoff")
        ctx = step_context("change_lifecycle_stage", {"stage": "mql"}, lead, workflow=workflow, step_id="s4")
        outcome = run(ctx)
        self.assertEqual(outcome.summary, "Lifecycle stage Lead → Marketing-qualified lead")
        change = LifecycleChange.objects.filter(contact=lead).latest("id")
        self.assertEqual((change.to_stage, change.origin), ("mql", Origin.WORKFLOW))
        self.assertEqual(change.reason, "Workflow 'MQL handoff', step s4")

    def test_already_there_and_backward_moves(self):
        customer = make_contact(lifecycle_stage="customer")
        already = run(step_context("change_lifecycle_stage", {"stage": "customer"}, customer))
        self.assertEqual((already.status, already.summary), ("done", "Already Customer"))
        back = run(step_context("change_lifecycle_stage", {"stage": "mql"}, customer))
        self.assertEqual(back.status, "skipped")
        customer.refresh_from_db()
        self.assertEqual(customer.lifecycle_stage, "customer")
        recycled = run(step_context("change_lifecycle_stage", {"stage": "lead", "allow_backward": True}, customer))
        self.assertEqual(recycled.status, "done")
        customer.refresh_from_db()
        self.assertEqual(customer.lifecycle_stage, "lead")

    def test_unknown_stage_is_refused(self):
        with self.assertRaises(ValidationError):
            get("change_lifecycle_stage").validate({"stage": "vip"})


class ListTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.list = segments.create_list(system_actor(), name="Webinar leads")
        cls.ada = make_contact()

    def test_add_then_remove(self):
        outcome = run(step_context("add_to_list", {"list": self.list.pk}, self.ada))
        self.assertEqual(outcome.summary, "Added to “Webinar leads”")
        membership = ListMembership.objects.get(contact_list=self.list, contact=self.ada)
        self.assertEqual(membership.origin, Origin.WORKFLOW)
        self.assertEqual(
            run(step_context("add_to_list", {"list": self.list.pk}, self.ada)).summary, "Already on “Webinar leads”"
        )
        removed = run(step_context("remove_from_list", {"list": self.list.pk}, self.ada))
        self.assertEqual(removed.summary, "Removed from “Webinar leads”")
        self.assertFalse(ListMembership.objects.filter(contact_list=self.list, contact=self.ada).exists())

    def test_a_list_deleted_after_saving_skips(self):
        doomed = segments.create_list(system_actor(), name="Doomed")
        ctx = step_context("add_to_list", {"list": doomed.pk}, self.ada)
        doomed.delete()
        self.assertEqual(run(ctx).status, "skipped")
        with self.assertRaises(ValidationError):
            get("add_to_list").validate({"list": 999999})


class AssignOwnerTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.sales = Team.objects.get(kind="sales")  # bob and carol (rory is read-only: never an owner)

    def test_round_robin_takes_the_least_recently_assigned(self):
        people = [make_contact() for _ in range(4)]
        workflow = make_workflow()
        owners = []
        for person in people:
            ctx = step_context(
                "assign_owner", {"mode": "round_robin", "team": self.sales.pk}, person, workflow=workflow
            )
            outcome = run(ctx)
            self.assertEqual(outcome.status, "done")
            person.refresh_from_db()
            owners.append(person.owner_id)
        bob, carol = self.cast["bob"].pk, self.cast["carol"].pk
        self.assertEqual(owners, [bob, carol, bob, carol])
        self.assertEqual(Touchpoint.objects.filter(contact=people[0], kind="owner_changed").count(), 1)

    def test_rules_then_the_fallback_team(self):
        german = make_contact(company=make_company(country="DE"))
        french = make_contact(company=make_company(country="FR"))
        params = {
            "mode": "rules",
            "rules": [{"field": "company.country", "value": "DE", "owner": self.cast["mia"].pk}],
            "fallback_team": self.sales.pk,
        }
        first = run(step_context("assign_owner", params, german))
        self.assertIn("rule 1: Country is DE", first.summary)
        german.refresh_from_db()
        self.assertEqual(german.owner_id, self.cast["mia"].pk)
        run(step_context("assign_owner", params, french))
        french.refresh_from_db()
        self.assertIn(french.owner_id, (self.cast["bob"].pk, self.cast["carol"].pk))

    def test_only_unowned_and_bad_rules(self):
        owned = make_contact(owner=self.cast["bob"])
        ctx = step_context("assign_owner", {"team": self.sales.pk, "only_unowned": True}, owned)
        self.assertEqual(run(ctx).status, "skipped")
        with self.assertRaises(ValidationError):
            get("assign_owner").validate({"mode": "rules", "rules": [{"field": "email", "value": "x", "owner": 1}]})
        with self.assertRaises(ValidationError):  # a read-only user cannot own records
            get("assign_owner").validate(
                {"mode": "rules", "rules": [{"field": "title", "value": "x", "owner": self.cast["rory"].pk}]}
            )


class TaskAndNotifyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_a_task_for_the_owner_due_in_n_days(self):
        person = make_contact(owner=self.cast["bob"])
        ctx = step_context("create_task", {"title": "Call the new MQL", "kind": "call", "due_in_days": 2}, person)
        outcome = run(ctx)
        task = Task.objects.get(pk=outcome.result["task"])
        self.assertEqual((task.owner, task.contact, task.kind), (self.cast["bob"], person, "call"))
        self.assertEqual((task.due_at - ctx.now).days, 2)
        # bob is told about the task assigned to him (the CRM's own notification).
        self.assertTrue(Notification.objects.filter(user=self.cast["bob"], kind="task_assigned").exists())

    def test_no_owner_skips_unless_a_fallback_is_named(self):
        person = make_contact()
        self.assertEqual(run(step_context("create_task", {"title": "Follow up"}, person)).status, "skipped")
        outcome = run(
            step_context("create_task", {"title": "Follow up", "fallback_owner": self.cast["carol"].pk}, person)
        )
        self.assertEqual(Task.objects.get(pk=outcome.result["task"]).owner, self.cast["carol"])

    def test_notify_the_owner(self):
        person = make_contact(owner=self.cast["bob"], first_name="Ada", last_name="Lovelace")
        outcome = run(step_context("notify_user", {"user": "owner", "title": "Hot lead"}, person))
        note = Notification.objects.get(pk=outcome.result["notification"])
        self.assertEqual(
            (note.user, note.kind, note.title), (self.cast["bob"], "workflow_notice", "Hot lead — Ada Lovelace")
        )
        self.assertEqual(note.url, f"/contacts/{person.pk}/")
        nobody = run(step_context("notify_user", {"user": "owner", "title": "Hot lead"}, make_contact()))
        self.assertEqual(nobody.status, "skipped")


@unittest.skipUnless(HAS_SCORING, "scoring.services.adjust_score is not on this branch yet")
class AdjustScoreTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_points_through_the_scoring_service(self):
        from smarketing.scoring.models import ScoreChange
        from smarketing.scoring.services import create_group

        person = make_contact()
        skipped = run(step_context("adjust_score", {"points": 15}, person))
        self.assertEqual(skipped.status, "skipped")  # no score group yet: said, not crashed
        create_group(self.cast["alice"], name="Main", engagement_cap=100)
        outcome = run(step_context("adjust_score", {"points": 15, "reason": "Asked for a demo"}, person))
        self.assertEqual((outcome.status, outcome.summary), ("done", "+15 points: Asked for a demo"))
        change = ScoreChange.objects.get(contact_id=person.pk)
        self.assertEqual((change.delta, change.reason, change.source), (15, "Asked for a demo", "workflow"))
        person.refresh_from_db()
        self.assertEqual(person.engagement_score, 15)


class AdjustScoreValidationTests(TestCase):
    def test_points_are_bounded_and_not_zero(self):
        action = get("adjust_score")
        for points in (0, 5000, "abc", True):
            with self.subTest(points=points), self.assertRaises(ValidationError):
                action.validate({"points": points})
        self.assertEqual(action.validate({"points": "-50"})["points"], -50)


class SendEmailTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.template = make_template(subject="Welcome, {{ contact.first_name }}")
        cls.sender = make_sender()
        cls.ada = make_contact(email="ada@inbox.example", first_name="Ada", consent_status=ConsentStatus.GRANTED)

    def setUp(self):
        self.server = SmtpTestServer().start()
        self.addCleanup(self.server.stop)
        overrides = override_settings(**self.server.settings(), SMARKETING_BASE_URL="https://app.acme.example")
        overrides.enable()
        self.addCleanup(overrides.disable)

    def params(self, **extra):
        return {"template": self.template.pk, "sender": self.sender.pk, **extra}

    def test_queues_one_send_of_the_automated_campaign_and_the_sender_delivers_it_once(self):
        ctx = step_context("send_email", self.params(), self.ada)
        with self.captureOnCommitCallbacks(execute=True):
            outcome = run(ctx)
        self.assertEqual(outcome.status, "done")
        send = EmailSend.objects.get(pk=outcome.result["send"])
        self.assertEqual((send.step_run, send.status), (ctx.step_run.pk, SendStatus.QUEUED))
        ec = send.campaign
        self.assertTrue(ec.automated)
        self.assertEqual(StepEmail.objects.get(workflow=ctx.workflow, step_id=ctx.step["id"]).email_campaign, ec)
        # Running the step again (a retry after a crash) finds the same send: the StepRun is the key.
        self.assertEqual(run(ctx).result["send"], send.pk)
        self.assertEqual(EmailSend.objects.filter(campaign=ec).count(), 1)

        result = sending.run(ec.pk)
        self.assertEqual(result.sent, 1)
        self.assertEqual([m.rcpt_tos for m in self.server.messages], [["ada@inbox.example"]])
        message = self.server.messages[0].message
        self.assertEqual(message["Subject"], "Welcome, Ada")
        self.assertTrue(message["List-Unsubscribe"].startswith("<https://app.acme.example/e/u/"))
        self.assertIn("https://app.acme.example/e/c/", message.get_body(("html",)).get_content())
        ec.refresh_from_db()
        self.assertEqual(ec.status, CampaignStatus.SENDING)  # automated: never "finished"
        self.assertEqual(sending.run(ec.pk).sent, 0)
        self.assertEqual(len(self.server.messages), 1)
        self.assertTrue(Touchpoint.objects.filter(contact=self.ada, kind="email_sent", campaign=ec.campaign).exists())

    def test_a_second_enrollment_gets_its_own_send(self):
        workflow = make_workflow()
        first = step_context("send_email", self.params(), self.ada, workflow=workflow, step_id="s1")
        run(first)
        first.enrollment.status = "completed"
        first.enrollment.save()
        from smarketing.workflows.models import Enrollment, StepRun

        second = Enrollment.objects.create(workflow=workflow, contact=self.ada, sequence=2)
        step_run = StepRun.objects.create(enrollment=second, step_id="s1", step_type="send_email", status="waiting")
        first.enrollment, first.step_run = second, step_run
        run(first)
        self.assertEqual(EmailSend.objects.filter(contact=self.ada, campaign__automated=True).count(), 2)

    def test_unsubscribed_suppressed_and_no_consent_are_skipped_with_the_reason(self):
        cases = {
            "the contact unsubscribed": make_contact(consent_status=ConsentStatus.WITHDRAWN),
            "the contact has not given marketing consent": make_contact(consent_status=ConsentStatus.UNKNOWN),
            "the address is suppressed (hard bounce)": make_contact(
                email="gone@inbox.example", consent_status=ConsentStatus.GRANTED
            ),
        }
        suppress("gone@inbox.example", "hard_bounce")
        for reason, person in cases.items():
            with self.subTest(reason=reason):
                outcome = run(step_context("send_email", self.params(), person))
                self.assertEqual((outcome.status, outcome.summary), ("skipped", f"Not sent: {reason}"))
                self.assertFalse(EmailSend.objects.filter(contact=person).exists())
                dry = dry_run(step_context("send_email", self.params(), person, dry=True))
                self.assertEqual(dry.summary, f"Would skip: {reason}")

    def test_a_contact_who_unsubscribes_after_the_step_is_suppressed_at_send_time(self):
        ctx = step_context("send_email", self.params(), self.ada)
        outcome = run(ctx)
        Contact.objects.filter(pk=self.ada.pk).update(consent_status=ConsentStatus.WITHDRAWN)
        sending.run(EmailSend.objects.get(pk=outcome.result["send"]).campaign_id)
        self.assertEqual(self.server.messages, [])
        send = EmailSend.objects.get(pk=outcome.result["send"])
        self.assertEqual((send.status, send.suppressed_reason), (SendStatus.SUPPRESSED, "unsubscribed"))

    def test_legitimate_interest_steps_may_mail_contacts_without_recorded_consent(self):
        person = make_contact(consent_status=ConsentStatus.UNKNOWN)
        outcome = run(step_context("send_email", self.params(requires_consent=False), person))
        self.assertEqual(outcome.status, "done")

    def test_validation(self):
        action = get("send_email")
        with self.assertRaises(ValidationError):
            action.validate({"template": self.template.pk})
        with self.assertRaises(ValidationError):
            action.validate(self.params(subject="Two\r\nlines"))
        blank = make_template(subject="", name="No subject")
        with self.assertRaises(ValidationError):
            action.validate({"template": blank.pk, "sender": self.sender.pk})
        self.assertEqual(action.describe(self.params(subject="Hi")), "Send “Hi”")


class CallWebhookTests(TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = Receiver()

    @classmethod
    def tearDownClass(cls):
        cls.receiver.close()
        super().tearDownClass()

    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()
        cls.ada = make_contact(email="ada@example.com")

    def setUp(self):
        local = override_settings(WEBHOOK_ALLOWED_ADDRESSES=["127.0.0.1/32"])
        local.enable()
        self.addCleanup(local.disable)
        self.receiver.received.clear()

    def test_posts_a_signed_body_once_with_the_step_run_as_idempotency_key(self):
        ctx = step_context("call_webhook", {"url": self.receiver.url("/hook")}, self.ada)
        with self.captureOnCommitCallbacks(execute=False) as callbacks:
            outcome = run(ctx)
        self.assertEqual(len(callbacks), 1)  # the post is enqueued after commit, not made in the transaction
        self.assertEqual(self.receiver.received, [])
        call = WebhookCall.objects.get(pk=outcome.result["call"])
        self.assertEqual(webhook_calls.post_call(call.pk), WebhookCallStatus.SUCCEEDED)
        self.assertEqual(webhook_calls.post_call(call.pk), "skipped")  # done: never posted twice
        [request] = self.receiver.requests_to("/hook")
        self.assertEqual(request.headers["idempotency-key"], f"steprun_{ctx.step_run.pk}")
        secret = ctx.step["params"]["secret"]
        self.assertTrue(
            verify(
                secret,
                request.headers["x-smarketing-timestamp"],
                request.body,
                request.headers["x-smarketing-signature"],
            )
        )
        body = json.loads(request.body)
        self.assertEqual(body["data"]["contact"]["email"], "ada@example.com")
        self.assertEqual(body["data"]["workflow"]["id"], ctx.workflow.pk)
        call.refresh_from_db()
        self.assertEqual((call.response_status, call.attempts), (200, 1))
        # The step again (a retry of the step's transaction) records no second call.
        run(ctx)
        self.assertEqual(WebhookCall.objects.filter(step_run=ctx.step_run).count(), 1)

    def test_a_5xx_is_retried_later_and_a_4xx_fails(self):
        self.receiver.script("/flaky", (503, b"busy", {}))
        call = WebhookCall.objects.get(
            pk=run(step_context("call_webhook", {"url": self.receiver.url("/flaky")}, self.ada)).result["call"]
        )
        self.assertEqual(webhook_calls.post_call(call.pk), WebhookCallStatus.PENDING)
        call.refresh_from_db()
        self.assertGreater(call.next_attempt_at, call.created_at)
        self.assertEqual(webhook_calls.post_call(call.pk), "skipped")  # not due yet
        self.receiver.script("/gone", (404, b"no", {}))
        gone = WebhookCall.objects.get(
            pk=run(step_context("call_webhook", {"url": self.receiver.url("/gone")}, self.ada)).result["call"]
        )
        self.assertEqual(webhook_calls.post_call(gone.pk), WebhookCallStatus.FAILED)

    def test_private_addresses_are_refused(self):
        with self.assertRaises(ValidationError):
            get("call_webhook").validate({"url": "http://10.0.0.7/hook"})
        with self.assertRaises(ValidationError):
            get("call_webhook").validate({"url": "file:///etc/passwd"})
        ctx = step_context("call_webhook", {"url": self.receiver.url("/hook")}, self.ada)
        call = WebhookCall.objects.get(pk=run(ctx).result["call"])
        with override_settings(WEBHOOK_ALLOWED_ADDRESSES=[]):  # loopback is not allowed by default
            self.assertEqual(webhook_calls.post_call(call.pk), WebhookCallStatus.FAILED)
        self.assertEqual(self.receiver.received, [])
        call.refresh_from_db()
        self.assertIn("Refused", call.error)


@unittest.skipUnless(HAS_ENGINE, "workflows.services (the engine) is not on this branch yet")
class EnrollInWorkflowTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def test_enrolls_in_the_other_workflow(self):
        target = make_workflow(name="Onboarding", steps=[])
        person = make_contact()
        outcome = run(step_context("enroll_in_workflow", {"workflow": target.pk}, person))
        self.assertEqual(outcome.status, "done", outcome.summary)
        self.assertTrue(target.enrollments.filter(contact=person).exists())
