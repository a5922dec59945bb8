"""The runner: steps in order, waits (shortened by WORKFLOW_WAIT_SCALE), goals, enrollment rules, skipped steps,
failures and retries, batches, and exactly once when runners overlap."""

import datetime
import threading

import pytest
from django.db import connection
from django.test import TestCase, TransactionTestCase, override_settings
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.core.models import Event, Origin
from smarketing.crm import services as crm
from smarketing.testing import ensure_defaults, make_contact
from smarketing.timeline.models import Touchpoint
from smarketing.workflows import runner, services
from smarketing.workflows.models import Enrollment, StepRun, Workflow
from smarketing.workflows.tests.actions_for_tests import BatchMark, marks

SYSTEM = system_actor(Origin.WORKFLOW)
CTO = {"op": "and", "rules": [{"field": "title", "operator": "equals", "value": "CTO"}]}


def make_workflow(steps, **data):
    workflow = services.create_workflow(actor=SYSTEM, data={"name": "Nurture", "definition": {"steps": steps}, **data})
    return services.activate(workflow, actor=SYSTEM)


def later(**delta):
    return timezone.now() + datetime.timedelta(**delta)


class StepsInOrderTests(TestCase):
    def test_steps_run_in_order_through_a_branch_and_complete(self):
        workflow = make_workflow(
            [
                {"id": "first", "type": "test_mark"},
                {
                    "id": "check",
                    "type": "if",
                    "params": {"condition": CTO},
                    "yes": [{"id": "cto", "type": "test_mark"}],
                    "no": [{"id": "other", "type": "test_mark"}],
                },
                {"id": "last", "type": "test_mark"},
            ]
        )
        cto, dev = make_contact(title="CTO"), make_contact(title="Developer")
        for contact in (cto, dev):
            self.assertIsNotNone(services.enroll(workflow, contact))
        self.assertEqual(runner.run_once(), 2)
        self.assertEqual(
            list(marks(cto).order_by("id").values_list("object_repr", flat=True)), ["first", "cto", "last"]
        )
        self.assertEqual(
            list(marks(dev).order_by("id").values_list("object_repr", flat=True)), ["first", "other", "last"]
        )
        enrollment = Enrollment.objects.get(contact=cto)
        self.assertEqual(enrollment.status, "completed")
        self.assertEqual(
            list(enrollment.step_runs.values_list("step_id", "status")),
            [("first", "done"), ("check", "done"), ("cto", "done"), ("last", "done")],
        )
        self.assertEqual(StepRun.objects.get(enrollment=enrollment, step_id="check").result, {"branch": "yes"})
        workflow.refresh_from_db()
        self.assertEqual((workflow.enrolled_count, workflow.active_count, workflow.completed_count), (2, 0, 2))
        self.assertEqual(Event.objects.filter(name="workflow.enrolled").count(), 2)
        completed = Event.objects.filter(name="workflow.completed", object_id=str(enrollment.pk)).get()
        self.assertEqual(completed.payload["status"], "completed")
        self.assertEqual(
            set(Touchpoint.objects.filter(contact=cto).values_list("kind", flat=True))
            & {"workflow_enrolled", "workflow_completed"},
            {"workflow_enrolled", "workflow_completed"},
        )
        self.assertEqual(runner.run_once(), 0)  # nothing left to do

    def test_paused_workflow_does_not_run_until_activated_again(self):
        workflow = make_workflow([{"id": "a", "type": "test_mark"}])
        contact = make_contact()
        services.enroll(workflow, contact)
        services.pause(workflow, actor=SYSTEM)
        self.assertEqual(runner.run_once(), 0)
        self.assertIsNone(services.enroll(workflow, make_contact()))  # no enrolling while paused
        services.activate(workflow, actor=SYSTEM)
        self.assertEqual(runner.run_once(), 1)
        self.assertEqual(marks(contact).count(), 1)


class WaitTests(TestCase):
    @override_settings(WORKFLOW_WAIT_SCALE=0.001)
    def test_wait_parks_then_resumes_scaled(self):
        workflow = make_workflow(
            [
                {"id": "a", "type": "test_mark"},
                {"id": "w", "type": "wait", "params": {"duration": {"days": 1}}},  # 86.4 s at this scale
                {"id": "b", "type": "test_mark"},
            ]
        )
        contact = make_contact()
        services.enroll(workflow, contact)
        runner.run_once()
        enrollment = Enrollment.objects.get(contact=contact)
        self.assertEqual(enrollment.current_step, "w")
        self.assertEqual(enrollment.status, "active")
        wait = (enrollment.next_run_at - timezone.now()).total_seconds()
        self.assertTrue(80 < wait <= 86.4, wait)
        self.assertEqual(StepRun.objects.get(enrollment=enrollment, step_id="w").status, "waiting")
        self.assertEqual(runner.run_once(), 0)  # not yet
        self.assertEqual(runner.run_once(now=later(seconds=90)), 1)
        enrollment.refresh_from_db()
        self.assertEqual(enrollment.status, "completed")
        self.assertEqual(StepRun.objects.get(enrollment=enrollment, step_id="w").status, "done")
        self.assertEqual(marks(contact).count(), 2)

    def test_wait_until_weekday_and_time_in_the_contacts_zone(self):
        from smarketing.workflows.actions.wait import Wait, next_weekday_time

        zone = __import__("zoneinfo").ZoneInfo("America/New_York")
        now = datetime.datetime(2026, 12, 2, 15, 0, tzinfo=datetime.UTC)  # a Wednesday, 10:00 in New York
        moment = next_weekday_time(now, [2], "09:00", zone)  # Wednesday 09:00 has passed there: next week
        self.assertEqual(moment.astimezone(zone).isoformat(), "2026-12-09T09:00:00-05:00")
        moment = next_weekday_time(now, [2, 3], "09:00", zone)
        self.assertEqual(moment.astimezone(zone).isoformat(), "2026-12-03T09:00:00-05:00")
        contact = make_contact()
        contact.time_zone = "Asia/Tokyo"  # set by enrichment or the API; the wait only reads it
        until = Wait().until({"until": {"weekdays": [3], "time": "08:30"}}, contact, now)
        self.assertEqual(
            until.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo")).strftime("%a %H:%M"), "Thu 08:30"
        )


class RulesTests(TestCase):
    def test_once_means_once(self):
        workflow = make_workflow([{"id": "a", "type": "test_mark"}])
        contact = make_contact()
        first = services.enroll(workflow, contact)
        self.assertIsNone(services.enroll(workflow, contact))  # already in
        runner.run_once()
        self.assertIsNone(services.enroll(workflow, contact))  # once
        self.assertEqual(first.sequence, 1)

    def test_again_after_n_days(self):
        workflow = make_workflow([{"id": "a", "type": "test_mark"}], reenrollment="after", reenroll_after_days=3)
        contact = make_contact()
        services.enroll(workflow, contact)
        runner.run_once()
        self.assertIsNone(services.enroll(workflow, contact))  # too soon
        Enrollment.objects.filter(contact=contact).update(entered_at=later(days=-4))
        second = services.enroll(workflow, contact)
        self.assertEqual(second.sequence, 2)
        runner.run_once()
        self.assertEqual(marks(contact).count(), 2)  # each enrollment runs the step once

    def test_goal_met_leaves_before_the_next_step(self):
        workflow = make_workflow(
            [
                {"id": "a", "type": "test_mark"},
                {"id": "w", "type": "wait", "params": {"duration": {"hours": 1}}},
                {"id": "b", "type": "test_mark"},
            ],
            goal={"op": "and", "rules": [{"field": "lifecycle_stage", "operator": "equals", "value": "customer"}]},
        )
        contact = make_contact()
        services.enroll(workflow, contact)
        runner.run_once()
        crm.change_lifecycle_stage(contact, "customer", actor=SYSTEM, reason="Signed")
        runner.run_once(now=later(hours=2))
        enrollment = Enrollment.objects.get(contact=contact)
        self.assertEqual(enrollment.status, "goal_met")
        self.assertEqual(list(marks(contact).values_list("object_repr", flat=True)), ["a"])
        workflow.refresh_from_db()
        self.assertEqual((workflow.active_count, workflow.completed_count), (0, 0))

    def test_skipped_step_moves_on(self):
        workflow = make_workflow([{"id": "mail", "type": "test_skip"}, {"id": "b", "type": "test_mark"}])
        contact = make_contact()
        services.enroll(workflow, contact)
        runner.run_once()
        enrollment = Enrollment.objects.get(contact=contact)
        self.assertEqual(StepRun.objects.get(enrollment=enrollment, step_id="mail").status, "skipped")
        self.assertEqual(enrollment.status, "completed")
        self.assertEqual(marks(contact).count(), 1)

    def test_unenroll_and_archive_exit(self):
        workflow = make_workflow([{"id": "w", "type": "wait", "params": {"duration": {"hours": 1}}}])
        a, b = make_contact(), make_contact()
        ea = services.enroll(workflow, a)
        services.enroll(workflow, b)
        self.assertTrue(services.unenroll(ea, actor=SYSTEM, reason="Asked us to stop"))
        self.assertFalse(services.unenroll(ea, actor=SYSTEM, reason="twice"))
        services.archive(workflow, actor=SYSTEM)
        self.assertEqual(set(Enrollment.objects.values_list("status", flat=True)), {"exited"})
        workflow.refresh_from_db()
        self.assertEqual((workflow.enrolled_count, workflow.active_count), (2, 0))


class FailureTests(TestCase):
    def test_failure_is_retried_then_the_enrollment_fails(self):
        workflow = make_workflow([{"id": "bad", "type": "test_fail"}])
        contact = make_contact()
        services.enroll(workflow, contact)
        runner.run_once()
        run = StepRun.objects.get(step_id="bad")
        self.assertEqual((run.status, run.attempts), ("failed", 1))
        self.assertIn("always fails", run.error)
        self.assertEqual(marks(contact).count(), 0)  # the failed attempt's writes rolled back
        runner.run_once(now=later(minutes=2))
        runner.run_once(now=later(minutes=30))
        run.refresh_from_db()
        self.assertEqual(run.attempts, 3)
        self.assertEqual(Enrollment.objects.get(contact=contact).status, "failed")

    def test_a_poisoned_row_fails_alone_in_a_batch(self):
        BatchMark.batches.clear()
        workflow = make_workflow([{"id": "m", "type": "test_batch_mark"}])
        good = [make_contact() for _ in range(4)]
        bad = make_contact(title="poison")
        for contact in [*good, bad]:
            services.enroll(workflow, contact)
        runner.run_once()
        self.assertEqual(BatchMark.batches, [5])  # tried as one batch, then row by row
        self.assertEqual(marks().count(), 4)
        self.assertEqual(StepRun.objects.get(enrollment__contact=bad).status, "failed")
        self.assertEqual(Enrollment.objects.filter(status="completed").count(), 4)

    def test_batch_runs_in_one_go(self):
        BatchMark.batches.clear()
        workflow = make_workflow([{"id": "m", "type": "test_batch_mark"}, {"id": "n", "type": "test_mark"}])
        contacts = [make_contact() for _ in range(6)]
        for contact in contacts:
            services.enroll(workflow, contact)
        runner.run_once()
        self.assertEqual(BatchMark.batches, [6])
        self.assertEqual(marks().count(), 12)
        self.assertEqual(StepRun.objects.filter(status="done").count(), 12)


class ExactlyOnceTests(TestCase):
    def test_a_stale_runner_never_runs_a_step_twice(self):
        """A runner whose lease ran out while another finished the step finds the StepRun and skips."""
        workflow = make_workflow([{"id": "a", "type": "test_mark"}, {"id": "b", "type": "test_mark"}])
        contact = make_contact()
        services.enroll(workflow, contact)
        stale = list(Enrollment.objects.select_related("workflow", "contact"))  # read before the other run
        runner.run_once()
        self.assertEqual(marks(contact).count(), 2)
        # The stale runner now processes its copy (still at the first step, as it read it).
        Enrollment.objects.filter(pk=stale[0].pk).update(status="active", current_step="")
        runner._round(stale)
        self.assertEqual(marks(contact).count(), 2)
        self.assertEqual(StepRun.objects.filter(enrollment=stale[0]).count(), 2)

    def test_claims_do_not_overlap(self):
        workflow = make_workflow([{"id": "a", "type": "test_mark"}])
        for _ in range(5):
            services.enroll(workflow, make_contact())
        first_token, first = runner.claim(limit=3)
        second_token, second = runner.claim(limit=10)
        self.assertEqual(len(first), 3)
        self.assertEqual(len(second), 2)
        self.assertFalse(set(first) & set(second))
        # An expired lease is taken over.
        third_token, third = runner.claim(now=later(seconds=400))
        self.assertEqual(set(third), set(first) | set(second))


class EditTests(TestCase):
    def test_enrollments_keep_their_place_and_move_off_removed_steps(self):
        workflow = make_workflow(
            [
                {"id": "a", "type": "test_mark"},
                {"id": "w", "type": "wait", "params": {"duration": {"hours": 1}}},
                {"id": "b", "type": "test_mark"},
            ]
        )
        contact = make_contact()
        services.enroll(workflow, contact)
        runner.run_once()
        workflow = Workflow.objects.get(pk=workflow.pk)
        steps = workflow.definition["steps"]
        workflow = services.update_workflow(
            workflow,
            actor=SYSTEM,
            data={"definition": {"steps": [steps[0], {"id": "new", "type": "test_mark"}, steps[2]]}},
        )
        self.assertEqual(workflow.version, 2)
        # The wait it sat in is gone: it goes on at the next step of the old order that is left, now.
        self.assertEqual(Enrollment.objects.get(contact=contact).current_step, "b")
        runner.run_once()
        self.assertEqual(list(marks(contact).order_by("id").values_list("object_repr", flat=True)), ["a", "b"])
        self.assertEqual(Enrollment.objects.get(contact=contact).status, "completed")


POSTGRES_ONLY = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent PostgreSQL sessions")


@POSTGRES_ONLY
class RacingRunnersTests(TransactionTestCase):
    def run_in_threads(self, *targets):
        errors = []

        def wrap(target):
            try:
                target()
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=wrap, args=(t,)) for t in targets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertEqual(errors, [])

    def test_two_runners_on_the_same_enrollment_run_the_step_once(self):
        ensure_defaults()
        workflow = make_workflow([{"id": "slow", "type": "test_slow"}, {"id": "b", "type": "test_mark"}])
        contact = make_contact()
        services.enroll(workflow, contact)

        def stale_runner():  # as if both had claimed it (the first one's lease ran out meanwhile)
            runner._round(list(Enrollment.objects.select_related("workflow", "contact")))

        self.run_in_threads(stale_runner, stale_runner)
        self.assertEqual(marks(contact, "slow").count(), 1)
        self.assertEqual(StepRun.objects.filter(step_id="slow").count(), 1)

    def test_concurrent_claims_are_disjoint(self):
        ensure_defaults()
        workflow = make_workflow([{"id": "a", "type": "test_mark"}])
        for _ in range(30):
            services.enroll(workflow, make_contact())
        won = []
        self.run_in_threads(*[lambda: won.append(runner.claim(limit=10)[1]) for _ in range(4)])
        claimed = [pk for ids in won for pk in ids]
        self.assertEqual(len(claimed), len(set(claimed)))
        self.assertEqual(len(claimed), 30)
