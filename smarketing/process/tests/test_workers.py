"""The handoff with real processes: a real worker routes the MQL from the outbox and its SLA job records the breach
and escalates once; two reps accepting one lead at the same moment, on PostgreSQL: exactly one wins."""

import threading
import unittest
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection
from django.test import TransactionTestCase
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.accounts.models import Team
from smarketing.core.models import Event
from smarketing.crm.services.lifecycle import change_lifecycle_stage
from smarketing.jobs.models import PeriodicSchedule
from smarketing.jobs.testing import WorkerPool
from smarketing.notifications.models import Notification
from smarketing.process import handoff, kinds
from smarketing.process.models import Handoff, HandoffStatus, SlaPolicy
from smarketing.testing import ensure_defaults, make_cast, make_contact

ALL_WEEK = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


class WorkerTests(TransactionTestCase):
    def setUp(self):
        ensure_defaults()
        self.cast = make_cast()
        SlaPolicy.objects.create(team=Team.objects.get(kind="sales"), first_touch_hours=4, working_hours=ALL_WEEK)

    def _tick_due(self):
        PeriodicSchedule.objects.filter(task_path__endswith="sla_tick").update(
            next_run_at=timezone.now() - timedelta(seconds=1)
        )

    def test_a_real_worker_routes_the_mqls_then_breaches_escalates_and_reminds_once(self):
        person, soon = make_contact(), make_contact()
        became = timezone.now() - timedelta(hours=30)  # the workers were down since
        change_lifecycle_stage(person, "mql", actor=system_actor(), origin="system", at=became)
        # due in 30 minutes: inside the hour before the deadline, so the owner is reminded
        change_lifecycle_stage(
            soon, "mql", actor=system_actor(), origin="system", at=timezone.now() - timedelta(hours=3, minutes=30)
        )
        with WorkerPool(1) as pool:
            pool.wait()
        h = Handoff.objects.filter(contact=person).first()
        self.assertIsNotNone(h, pool.logs())
        self.assertEqual(h.started_at, became)
        for _ in range(2):  # the SLA job twice: one breach, one escalation
            self._tick_due()
            with WorkerPool(1) as pool:
                pool.wait()
        h.refresh_from_db()
        self.assertEqual(h.breached_at, became + timedelta(hours=4), pool.logs())
        self.assertIsNotNone(h.escalated_at)
        escalations = Notification.objects.filter(kind=kinds.NOTIFY_SLA_BREACHED, user=self.cast["carol"])
        self.assertEqual(escalations.count(), 1)
        self.assertEqual(Event.objects.filter(name="sla.breached", object_id=str(h.pk)).count(), 1)
        reminded = Handoff.objects.get(contact=soon)
        self.assertIsNotNone(reminded.reminded_at)
        self.assertIsNone(reminded.breached_at)
        reminders = Notification.objects.filter(kind=kinds.NOTIFY_SLA_REMINDER, user=reminded.owner)
        self.assertEqual(reminders.count(), 1)


@unittest.skipUnless(connection.vendor == "postgresql", "row-level races need PostgreSQL; SQLite runs one writer")
class RaceTests(TransactionTestCase):
    def setUp(self):
        ensure_defaults()
        self.cast = make_cast()

    def test_two_people_accepting_at_once_exactly_one_wins(self):
        person = make_contact()
        change_lifecycle_stage(person, "mql", actor=system_actor(), origin="system")
        h = handoff.start(person.pk, started_at=timezone.now())
        deciders = [self.cast["alice"], h.owner]
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def decide(user):
            try:
                barrier.wait(timeout=10)
                handoff.accept(Handoff.objects.get(pk=h.pk), actor=user)
                outcomes.append("won")
            except ValidationError:
                outcomes.append("refused")
            finally:
                close_old_connections()
                connection.close()

        threads = [threading.Thread(target=decide, args=(user,)) for user in deciders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        self.assertEqual(sorted(outcomes), ["refused", "won"])
        h.refresh_from_db()
        self.assertEqual(h.status, HandoffStatus.ACCEPTED)
        self.assertEqual(Event.objects.filter(name="lead.accepted", object_id=str(h.pk)).count(), 1)
        self.assertEqual(person.lifecycle_changes.filter(to_stage="sql").count(), 1)
