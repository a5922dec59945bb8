"""The multi-consumer outbox: ordering, exactly once per consumer, crashes, poison, independence, pruning."""

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.test import TestCase, TransactionTestCase
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from smarketing.accounts.models import User
from smarketing.core.events import publish
from smarketing.core.models import Event
from smarketing.jobs import outbox
from smarketing.jobs.models import OutboxCursor, OutboxDeadLetter
from smarketing.jobs.tasks import run_outbox_consumer
from smarketing.jobs.testing import WorkerPool
from smarketing.jobs.tests.outbox_consumers import consumed, recorder, registered
from smarketing.testing import make_cast
from smarketing.webhooks import services as webhooks
from smarketing.webhooks.models import Delivery, Endpoint

POSTGRES_ONLY = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent PostgreSQL sessions")


def subject() -> User:
    return User.objects.first() or User.objects.create_user(email="outbox@example.com", password="x")


def emit(count: int = 1, **payload) -> list[int]:
    """Publish `count` events (in the current transaction); returns their ids."""
    who = subject()
    return [publish("contact.updated", who, {"n": n, **payload}).id for n in range(count)]


def consumer_jobs(name: str) -> list[DBTaskResult]:
    jobs = DBTaskResult.objects.filter(task_path=run_outbox_consumer.module_path).order_by("enqueued_at")
    return [j for j in jobs if j.args_kwargs["args"] == [name]]


class SequencerTests(TestCase):
    def test_committed_events_are_numbered_in_id_order_without_gaps(self):
        ids = emit(5)
        self.assertEqual(outbox.sequence_events(), 5)
        seqs = list(Event.objects.order_by("id").values_list("seq", flat=True))
        self.assertEqual(seqs, [1, 2, 3, 4, 5])
        more = emit(2)
        self.assertEqual(outbox.sequence_events(), 2)
        self.assertEqual(list(Event.objects.filter(id__in=more).order_by("id").values_list("seq", flat=True)), [6, 7])
        self.assertEqual(outbox.sequence_events(), 0, "nothing left to number")
        self.assertEqual(len(ids), 5)

    def test_numbering_works_in_batches(self):
        emit(7)
        with mock.patch.object(outbox, "SEQUENCE_BATCH", 3):
            self.assertEqual(outbox.sequence_events(), 7)
        self.assertEqual(sorted(Event.objects.values_list("seq", flat=True)), list(range(1, 8)))


@POSTGRES_ONLY
class LateCommitTests(TransactionTestCase):
    def test_an_event_committed_after_a_higher_id_is_not_skipped(self):
        inserted, release, late = threading.Event(), threading.Event(), {}
        subject()  # committed before the writer thread needs it

        def slow_writer():
            try:
                with transaction.atomic():
                    late["id"] = emit()[0]  # the lower id, still uncommitted
                    inserted.set()
                    release.wait(20)
            finally:
                connections.close_all()

        with registered("t.gap", start="beginning"):
            writer = threading.Thread(target=slow_writer)
            writer.start()
            try:
                self.assertTrue(inserted.wait(20))
                [early] = emit()  # commits first, with the higher id
                self.assertGreater(early, late["id"])
                outbox.run_consumer("t.gap")
                self.assertEqual(consumed("t.gap"), [early])
                # A reader paging on id would now stand at `early` and never look below it again.
            finally:
                release.set()
                writer.join()
            outbox.run_consumer("t.gap")
            self.assertEqual(consumed("t.gap"), sorted([late["id"], early]))
        seqs = dict(Event.objects.values_list("id", "seq"))
        self.assertGreater(seqs[late["id"]], seqs[early], "numbered in commit order")


class ConsumerTests(TestCase):
    def test_each_consumer_handles_each_event_exactly_once_at_its_own_pace(self):
        with registered("t.a", start="beginning"), registered("t.b", start="beginning", batch_size=4):
            first = emit(10)
            self.assertEqual(outbox.run_consumer("t.a").handled, 10)
            second = emit(5)
            run_a, run_b = outbox.run_consumer("t.a"), outbox.run_consumer("t.b")
            self.assertEqual((run_a.handled, run_b.handled, run_b.produced), (5, 15, 15))
            self.assertEqual(outbox.run_consumer("t.a").handled + outbox.run_consumer("t.b").handled, 0)
            self.assertEqual(consumed("t.a"), sorted(first + second))
            self.assertEqual(consumed("t.b"), sorted(first + second))
            cursor = OutboxCursor.objects.get(name="t.b")
            self.assertEqual((cursor.position, cursor.handled, cursor.dead), (15, 15, 0))
            self.assertEqual(outbox.lag("t.a"), 0)

    def test_a_new_consumer_starts_now_by_default(self):
        emit(3)
        with registered("t.late"):
            outbox.run_consumer("t.late")
            self.assertEqual(consumed("t.late"), [])
            new = emit(2)
            outbox.run_consumer("t.late")
            self.assertEqual(consumed("t.late"), sorted(new))

    def test_a_crash_replays_the_batch_and_handles_nothing_twice(self):
        calls = []
        handle = recorder("t.crash")

        def crashing(events):
            handle(events)  # its writes are part of the batch that rolls back
            calls.append(len(events))
            if len(calls) == 2:
                raise OperationalError("server closed the connection unexpectedly")

        with registered("t.crash", crashing, batch_size=3, start="beginning"):
            ids = emit(7)
            with self.assertRaises(OperationalError):
                outbox.run_consumer("t.crash")
            self.assertEqual(consumed("t.crash"), ids[:3], "the first batch committed, the second rolled back")
            self.assertEqual(OutboxCursor.objects.get(name="t.crash").position, 3)
            outbox.run_consumer("t.crash")
            self.assertEqual(consumed("t.crash"), ids)
        self.assertFalse(OutboxDeadLetter.objects.exists(), "a database error is not a poison event")

    def test_a_poison_event_is_set_aside_and_the_consumer_moves_on(self):
        with registered("t.poison", batch_size=5, start="beginning"):
            before, [bad], after = emit(3), emit(poison=True), emit(4)
            run = outbox.run_consumer("t.poison")
            self.assertEqual((run.handled, run.dead), (8, 1))
            self.assertEqual(consumed("t.poison"), sorted(before + after))
            letter = OutboxDeadLetter.objects.get()
            self.assertEqual((letter.consumer, letter.event_id), ("t.poison", bad))
            self.assertIn(f"cannot digest event {bad}", letter.error)
            cursor = OutboxCursor.objects.get(name="t.poison")
            self.assertEqual((cursor.position, cursor.dead), (8, 1))
            self.assertIn("ValueError: cannot digest", cursor.last_error)
            self.assertEqual(outbox.run_consumer("t.poison").handled, 0)
            self.assertFalse(outbox.retry_dead_letter(letter.id), "still failing")
            self.assertEqual(OutboxDeadLetter.objects.get().attempts, 2)

        with registered("t.poison", recorder("t.poison", poison="never")):  # the handler is fixed
            self.assertTrue(outbox.retry_dead_letter(letter.id))
        self.assertFalse(OutboxDeadLetter.objects.exists())
        self.assertEqual(consumed("t.poison"), sorted(before + [bad] + after))
        self.assertEqual(OutboxCursor.objects.get(name="t.poison").dead, 0)

    def test_one_failing_consumer_does_not_move_or_block_another(self):
        def down(events):
            raise OperationalError("the scoring database is down")

        with registered("t.down", down, start="beginning"), registered("t.up", start="beginning"):
            ids = emit(4)
            with self.assertRaises(OperationalError):
                outbox.run_consumer("t.down")
            outbox.run_consumer("t.up")
            self.assertEqual(consumed("t.up"), ids)
            self.assertEqual(OutboxCursor.objects.get(name="t.down").position, 0)


class WakeAndSweepTests(TestCase):
    def test_commits_wake_each_wanted_consumer_once_per_burst(self):
        with registered("t.w", start="beginning"), registered("t.idle", wanted=lambda: False):
            with mock.patch.dict(outbox._pending_until, clear=True):
                with self.captureOnCommitCallbacks(execute=True):
                    emit(3)
                with self.captureOnCommitCallbacks(execute=True):
                    emit(1)
            [job] = consumer_jobs("t.w")
            self.assertGreater(job.run_after, timezone.now())
            self.assertEqual(consumer_jobs("t.idle"), [])
            self.assertEqual(run_outbox_consumer.call("t.w")["handled"], 4)

    def test_the_sweep_enqueues_consumers_that_are_behind(self):
        with registered("t.s", start="beginning"), registered("t.done", start="beginning"):
            emit(2)
            outbox.run_consumer("t.done")
            behind = outbox.sweep()
            self.assertIn("t.s", behind)
            self.assertNotIn("t.done", behind)
            self.assertEqual(len(consumer_jobs("t.s")), 1)

    def test_an_unregistered_consumer_job_does_nothing(self):
        self.assertEqual(run_outbox_consumer.call("gone"), {"consumer": "gone", "registered": False})


@POSTGRES_ONLY
class IndependenceTests(TransactionTestCase):
    def test_a_consumer_busy_elsewhere_is_skipped_and_holds_back_no_other(self):
        locked, release = threading.Event(), threading.Event()

        def slow_run():  # as if another worker were in the middle of a long batch of "t.slow"
            try:
                with transaction.atomic():
                    OutboxCursor.objects.select_for_update().get(name="t.slow")
                    locked.set()
                    release.wait(20)
            finally:
                connections.close_all()

        with registered("t.slow", start="beginning"), registered("t.fast", start="beginning"):
            ids = emit(6)
            outbox.ensure_cursor(outbox.consumers()["t.slow"])
            holder = threading.Thread(target=slow_run)
            holder.start()
            try:
                self.assertTrue(locked.wait(20))
                self.assertEqual(outbox.run_consumer("t.fast").handled, 6)
                self.assertTrue(outbox.run_consumer("t.slow").busy, "skipped at once, not waited for")
                queued = len(consumer_jobs("t.slow"))  # the wake-ups of the commits above
                result = run_outbox_consumer.call("t.slow")
                self.assertTrue(result["busy"])
                jobs = consumer_jobs("t.slow")
                self.assertEqual(len(jobs), queued + 1)
                self.assertGreater(jobs[-1].run_after, timezone.now() + timedelta(seconds=3), "looks again shortly")
            finally:
                release.set()
                holder.join()
            self.assertEqual(outbox.run_consumer("t.slow").handled, 6)
            self.assertEqual(consumed("t.slow"), ids)
            self.assertEqual(consumed("t.fast"), ids)


def other_apps_catch_up() -> None:
    """Every app consumer besides webhooks (workflows, scoring, ...) reads what is there, as a running system's
    would: pruning waits for every registered consumer."""
    for name in outbox.consumers():
        if name != "webhooks" and not name.startswith(("t.", "test.")):
            outbox.run_consumer(name)


class PruneTests(TestCase):
    def test_events_are_pruned_only_past_every_cursor_and_the_retention_window(self):
        cast = make_cast()
        with registered("t.ahead", start="beginning"), registered("t.behind", start="beginning", batch_size=6):
            ids = emit(10)
            Event.objects.filter(id__in=ids[:9]).update(occurred_at=timezone.now() - timedelta(days=30))
            webhooks.fan_out_events()  # the app's own consumer is one of "every consumer" too
            other_apps_catch_up()
            outbox.run_consumer("t.ahead")
            outbox.run_consumer("t.behind", max_batches=1)
            self.assertEqual(outbox.lag("t.behind"), 4)
            endpoint = Endpoint.objects.create(url="https://hooks.example/x", events=["*"], created_by=cast["alice"])
            Delivery.objects.create(endpoint=endpoint, event_id=ids[1], event_name="contact.updated")
            OutboxDeadLetter.objects.create(consumer="t.ahead", event_id=ids[2], error="x")

            self.assertEqual(outbox.prune_events(), 4, "seqs 1-6 are behind every cursor; two are referenced")
            kept = set(Event.objects.values_list("id", flat=True))
            self.assertEqual(kept, {ids[1], ids[2], *ids[6:]})

            outbox.run_consumer("t.behind")
            self.assertEqual(outbox.prune_events(), 3, "seqs 7-9; 10 is young and the newest")
            self.assertEqual(set(Event.objects.values_list("id", flat=True)), {ids[1], ids[2], ids[9]})

    def test_the_retention_window_is_the_outbox_retention_days_setting(self):
        ids = emit(3)
        Event.objects.filter(id__in=ids[:2]).update(occurred_at=timezone.now() - timedelta(days=10))
        webhooks.fan_out_events()
        other_apps_catch_up()
        with self.settings(OUTBOX_RETENTION_DAYS=14):
            self.assertEqual(outbox.prune_events(), 0, "ten days old is inside a 14-day window")
        with self.settings(OUTBOX_RETENTION_DAYS=7):
            self.assertEqual(outbox.prune_events(), 2)
        self.assertEqual(list(Event.objects.values_list("id", flat=True)), [ids[2]])

    def test_the_newest_event_stays_so_numbering_never_restarts(self):
        ids = emit(3)
        Event.objects.update(occurred_at=timezone.now() - timedelta(days=30))
        webhooks.fan_out_events()
        other_apps_catch_up()
        self.assertEqual(outbox.prune_events(), 2)
        self.assertEqual(list(Event.objects.values_list("id", flat=True)), [ids[2]])
        [new] = emit()
        outbox.sequence_events()
        self.assertEqual(Event.objects.get(id=new).seq, 4)


class AdminListTests(TestCase):
    def test_the_job_list_shows_each_consumer_its_lag_and_dead_letters(self):
        cast = make_cast()
        with registered("t.shown", start="beginning"):
            emit(2)
            emit(poison=True)
            outbox.run_consumer("t.shown")
            emit(3)
            self.client.force_login(cast["alice"])
            response = self.client.get(reverse("jobs:job_list"))
        self.assertContains(response, "t.shown")
        row = next(c for c in response.context["consumers"] if c.name == "t.shown")
        self.assertEqual((row.position, row.lag, row.dead), (3, 3, 1))
        self.assertContains(response, "cannot digest event")


@pytest.mark.worker
@POSTGRES_ONLY
class OutboxWorkerTests(TransactionTestCase):
    def test_two_workers_hand_every_event_to_two_consumers_exactly_once(self):
        # The same consumers as the workers preload (outbox_worker_consumers), so commits here wake them.
        fast = registered("test.fast", recorder("test.fast"), batch_size=50, start="beginning")
        slow = registered("test.slow", recorder("test.slow", pause=0.3), batch_size=10, start="beginning")
        with fast, slow:
            ids = []
            for _ in range(15):
                with transaction.atomic():
                    ids += emit(10)
            preload = ("smarketing.jobs.tests.outbox_worker_consumers",)
            with WorkerPool(2, batch=False, preload=preload) as pool:
                for _ in range(15):  # more while the workers run
                    with transaction.atomic():
                        ids += emit(10)
                pool.wait_until(lambda: len(consumed("test.fast")) >= 300, timeout=60)
                slow_meanwhile = len(consumed("test.slow"))
                pool.wait_until(lambda: len(consumed("test.slow")) >= 300, timeout=120)
        self.assertEqual(consumed("test.fast"), sorted(ids), "every event once, none twice")
        self.assertEqual(consumed("test.slow"), sorted(ids), "every event once, none twice")
        self.assertLess(slow_meanwhile, 300, "the fast consumer did not wait for the slow one")
        self.assertEqual(OutboxCursor.objects.get(name="test.slow").position, Event.objects.count())
