"""The dry run: the path a contact would take, each step's "would …", conditions evaluated for real, nothing
written."""

from django.test import TestCase

from smarketing.accounts.access import system_actor
from smarketing.core.models import AuditEntry, Event, Origin
from smarketing.testing import make_contact
from smarketing.timeline.models import Touchpoint
from smarketing.workflows import runner, services
from smarketing.workflows.models import Enrollment, StepRun
from smarketing.workflows.tests import actions_for_tests  # noqa: F401 - registers the test actions

SYSTEM = system_actor(Origin.WORKFLOW)
CTO = {"op": "and", "rules": [{"field": "title", "operator": "equals", "value": "CTO"}]}
STEPS = [
    {"id": "hello", "type": "test_mark"},
    {"id": "wait", "type": "wait", "params": {"duration": {"days": 2}}},
    {
        "id": "check",
        "type": "if",
        "params": {"condition": CTO},
        "yes": [{"id": "cto", "type": "test_mark"}],
        "no": [{"id": "skip", "type": "test_skip"}],
    },
]


class DryRunTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        workflow = services.create_workflow(actor=SYSTEM, data={"name": "Nurture", "definition": {"steps": STEPS}})
        cls.workflow = services.activate(workflow, actor=SYSTEM)
        cls.cto = make_contact(title="CTO")
        cls.dev = make_contact(title="Developer")

    def counts(self):
        return (
            Enrollment.objects.count(),
            StepRun.objects.count(),
            Event.objects.count(),
            Touchpoint.objects.count(),
            AuditEntry.objects.count(),
        )

    def test_path_follows_the_condition_for_real_and_writes_nothing(self):
        before = self.counts()
        path = services.dry_run(self.workflow, self.cto)
        self.assertEqual([p["step_id"] for p in path], ["hello", "wait", "check", "cto"])
        self.assertEqual(path[0]["summary"], f"Would mark {self.cto.pk}")
        self.assertEqual(path[1]["summary"], "Would wait 2 days")
        self.assertIsNotNone(path[1]["wait_until"])
        self.assertEqual(path[2]["branch"], "yes")
        self.assertIn("Would take the yes branch", path[2]["summary"])
        path = services.dry_run(self.workflow, self.dev)
        self.assertEqual([p["step_id"] for p in path], ["hello", "wait", "check", "skip"])
        self.assertEqual(path[2]["branch"], "no")
        self.assertEqual(self.counts(), before)

    def test_goal_already_met_and_refused_enrollment_are_said(self):
        services.update_workflow(self.workflow, actor=SYSTEM, data={"goal": CTO})
        self.workflow.refresh_from_db()
        path = services.dry_run(self.workflow, self.cto)
        self.assertEqual(path[-1]["type"], "goal")
        self.assertEqual(len(path), 1)
        services.enroll(self.workflow, self.dev)
        path = services.dry_run(self.workflow, self.dev)
        self.assertEqual(path[0]["type"], "enrollment")
        self.assertIn("already in the workflow", path[0]["summary"])

    def test_dry_run_does_not_disturb_a_real_run(self):
        services.dry_run(self.workflow, self.cto)
        services.enroll(self.workflow, self.cto)
        runner.run_once()
        self.assertEqual(Enrollment.objects.get(contact=self.cto).current_step, "wait")
