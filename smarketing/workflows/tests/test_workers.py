"""Real worker processes run workflows: a worker killed mid-batch loses nothing and repeats nothing."""

import pytest
from django.test import TransactionTestCase

from smarketing.accounts.access import system_actor
from smarketing.core.models import Origin
from smarketing.jobs.testing import WorkerPool
from smarketing.testing import ensure_defaults, make_contact
from smarketing.workflows import services
from smarketing.workflows.models import Enrollment, StepRun
from smarketing.workflows.tests.actions_for_tests import marks

SYSTEM = system_actor(Origin.WORKFLOW)
PRELOAD = ("smarketing.workflows.tests.actions_for_tests",)
CONTACTS = 24
STEPS = ("a", "b", "c")


@pytest.mark.worker
class KilledWorkerTests(TransactionTestCase):
    def test_sigkill_mid_batch_then_every_step_ran_exactly_once(self):
        ensure_defaults()
        workflow = services.create_workflow(
            actor=SYSTEM,
            data={"name": "Three marks", "definition": {"steps": [{"id": s, "type": "test_mark"} for s in STEPS]}},
        )
        services.activate(workflow, actor=SYSTEM)
        contacts = [make_contact() for _ in range(CONTACTS)]
        for contact in contacts:
            services.enroll(workflow, contact)
        env = {
            "WORKFLOW_TEST_MARK_DELAY": "0.1",  # each step takes a while: the kill lands inside a batch
            "WORKFLOW_BATCH_SIZE": "8",
            "WORKFLOW_LEASE_SECONDS": "5",  # the dead worker's claim is taken over soon
        }
        total = CONTACTS * len(STEPS)
        with WorkerPool(1, batch=False, preload=PRELOAD, env=env) as pool:
            pool.wait_until(lambda: marks().count() >= 6, timeout=90)
            pool.kill(0)  # mid-batch: its claim of 8 enrollments and the step it was in die with it
            pool.sync()
            killed_at = marks().count()
        # The restart: two fresh workers take the dead one's claim over once its lease runs out.
        with WorkerPool(2, batch=False, preload=PRELOAD, env=env) as pool:
            pool.wait_until(
                lambda: Enrollment.objects.filter(workflow=workflow, status="completed").count() == CONTACTS,
                timeout=180,
            )
        self.assertLess(killed_at, total, "the kill landed before the work was done")
        for contact in contacts:
            self.assertEqual(
                sorted(marks(contact).values_list("object_repr", flat=True)), list(STEPS), "each step exactly once"
            )
        self.assertEqual(StepRun.objects.filter(enrollment__workflow=workflow, status="done").count(), total)
        workflow.refresh_from_db()
        self.assertEqual((workflow.active_count, workflow.completed_count), (0, CONTACTS))
