"""`seed --automation` (what `smarketing demo` runs): lead scores with their history, the two demo workflows with
enrollments at different steps and real step runs, and an honest predictive model run."""

from io import StringIO

from django.core.management import call_command
from django.db.models import Count
from django.test import TestCase

from smarketing.crm.models import Contact
from smarketing.scoring.models import ContactScore, PredictiveModel, ScoreChange, ScoreGroup
from smarketing.workflows.demo import HANDOFF, NURTURE
from smarketing.workflows.models import Enrollment, StepRun, Workflow


class SeedAutomationTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.out = StringIO()
        call_command("seed", contacts=400, seed=11, demo_users=True, automation=True, stdout=cls.out)

    def test_scores_and_their_history_come_from_the_seeded_touches(self):
        default = ScoreGroup.objects.get(name="Default")
        self.assertTrue(default.is_primary)
        self.assertGreater(default.rules.count(), 5)
        self.assertGreater(ContactScore.objects.filter(group=default, total__gt=0).count(), 50)
        self.assertTrue(ScoreChange.objects.filter(group=default).exists())
        # The primary group is mirrored onto the contact's columns.
        score = ContactScore.objects.filter(group=default, total__gt=0).first()
        contact = Contact.objects.get(pk=score.contact_id)
        self.assertEqual((contact.fit_score, contact.engagement_score), (score.fit, score.engagement))

    def test_two_running_workflows_with_enrollments_at_different_steps(self):
        nurture = Workflow.objects.get(name=NURTURE)
        handoff = Workflow.objects.get(name=HANDOFF)
        self.assertEqual({nurture.status, handoff.status}, {"active"})
        places = set(
            Enrollment.objects.filter(workflow=nurture).values_list("status", "current_step").annotate(n=Count("id"))
        )
        self.assertGreaterEqual(len({(status, step) for status, step, _n in places}), 2, places)
        self.assertTrue(StepRun.objects.filter(enrollment__workflow=nurture, step_type="send_email").exists())
        done = Enrollment.objects.filter(workflow=handoff, status="completed")
        self.assertTrue(done.exists())
        self.assertTrue(StepRun.objects.filter(enrollment__in=done, step_type="create_task", status="done").exists())

    def test_the_predictive_run_is_recorded_either_way(self):
        model = PredictiveModel.objects.order_by("-id").first()
        self.assertIsNotNone(model)
        self.assertIn("Predictive model", self.out.getvalue())

    def test_a_running_handoff_with_history_reasons_breaches_and_a_written_process(self):
        from smarketing.process.models import CapturedEmail, Handoff, StageGovernance

        statuses = set(Handoff.objects.values_list("status", flat=True))
        self.assertTrue({"open", "accepted", "rejected"} <= statuses, statuses)
        self.assertTrue(Handoff.objects.filter(status="open", breached_at__isnull=True).exists())  # inside the SLA
        self.assertTrue(Handoff.objects.filter(breached_at__isnull=False).exists())
        reasons = set(Handoff.objects.filter(status="rejected").values_list("source", "reason__label"))
        self.assertGreater(len({label for _, label in reasons}), 2)  # reasons differ by source
        self.assertTrue(StageGovernance.objects.filter(stage__isnull=False).exclude(checklist=[]).exists())
        self.assertTrue(CapturedEmail.objects.exists())
        self.assertIn("Demo handoff", self.out.getvalue())
