"""Periodic scheduling, retries, the lost-job reaper and the job list page, in process."""

import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.db import connection, connections
from django.test import TestCase, TransactionTestCase, override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from smarketing.core.models import WorkerHeartbeat
from smarketing.jobs import periodic as periodic_module
from smarketing.jobs import tasks as job_tasks
from smarketing.jobs.models import PeriodicSchedule
from smarketing.jobs.periodic import PeriodicJob, period_start, periodic, run_due_periodic_jobs
from smarketing.jobs.queries import decode_cursor, encode_cursor, error_excerpt
from smarketing.jobs.retry import RETRY_SCHEDULED_PATH, WORKER_LOST_PATH, RetryScheduled, exponential_backoff
from smarketing.jobs.templatetags.jobs_format import duration, every
from smarketing.jobs.tests import worker_tasks
from smarketing.jobs.worker import start_heartbeat
from smarketing.testing import make_cast

PROBE_JOBS = {worker_tasks.hourly_probe.module_path: PeriodicJob(worker_tasks.hourly_probe, timedelta(hours=1))}


class PeriodicScheduleTests(TestCase):
    def test_periods_are_aligned_to_the_epoch(self):
        moment = datetime(2026, 3, 4, 10, 47, 13, tzinfo=UTC)
        self.assertEqual(period_start(moment, timedelta(hours=1)), datetime(2026, 3, 4, 10, 0, tzinfo=UTC))
        self.assertEqual(period_start(moment, timedelta(minutes=5)), datetime(2026, 3, 4, 10, 45, tzinfo=UTC))
        self.assertEqual(period_start(moment, timedelta(days=1)), datetime(2026, 3, 4, tzinfo=UTC))

    def test_a_job_is_enqueued_once_per_period(self):
        t0 = datetime(2026, 3, 4, 10, 47, tzinfo=UTC)
        self.assertEqual(run_due_periodic_jobs(t0, PROBE_JOBS), [worker_tasks.hourly_probe.module_path])
        schedule = PeriodicSchedule.objects.get()
        self.assertEqual(schedule.next_run_at, datetime(2026, 3, 4, 11, 0, tzinfo=UTC))
        self.assertEqual(schedule.last_run_at, t0)
        result = DBTaskResult.objects.get(id=schedule.last_result_id)
        self.assertEqual(result.task_path, worker_tasks.hourly_probe.module_path)

        self.assertEqual(run_due_periodic_jobs(t0 + timedelta(minutes=12), PROBE_JOBS), [])
        self.assertEqual(run_due_periodic_jobs(t0 + timedelta(minutes=13), PROBE_JOBS), [schedule.task_path])
        # Hours without a worker are not caught up: one run, and the next is due at the following hour.
        self.assertEqual(len(run_due_periodic_jobs(t0 + timedelta(hours=5), PROBE_JOBS)), 1)
        self.assertEqual(PeriodicSchedule.objects.get().next_run_at, datetime(2026, 3, 4, 16, 0, tzinfo=UTC))
        self.assertEqual(DBTaskResult.objects.filter(task_path=schedule.task_path).count(), 3)

    def test_a_changed_period_is_recorded(self):
        run_due_periodic_jobs(timezone.now(), PROBE_JOBS)
        faster = {k: PeriodicJob(v.task, timedelta(minutes=5)) for k, v in PROBE_JOBS.items()}
        run_due_periodic_jobs(timezone.now(), faster)
        self.assertEqual(PeriodicSchedule.objects.get().every_seconds, 300)

    def test_one_broken_job_does_not_stop_the_others(self):
        broken = mock.Mock(module_path="x.broken", enqueue=mock.Mock(side_effect=RuntimeError("boom")))
        jobs = {"x.broken": PeriodicJob(broken, timedelta(minutes=1)), **PROBE_JOBS}
        with self.assertLogs("smarketing.jobs.periodic", "ERROR"):
            done = run_due_periodic_jobs(timezone.now(), jobs)
        self.assertEqual(done, [worker_tasks.hourly_probe.module_path])
        # The broken job's claim rolled back with its failed enqueue: it is still due.
        self.assertLessEqual(PeriodicSchedule.objects.get(task_path="x.broken").next_run_at, timezone.now())

    def test_the_decorator_checks_its_arguments(self):
        with self.assertRaises(ValueError):
            periodic(every=timedelta(0))
        with self.assertRaises(TypeError):
            periodic(every=timedelta(minutes=1))(lambda: None)

    def test_the_apps_housekeeping_jobs_are_registered(self):
        jobs = periodic_module.discover()
        self.assertEqual(jobs[job_tasks.reap_lost_jobs.module_path].every, timedelta(minutes=1))
        self.assertEqual(jobs[job_tasks.prune_job_results.module_path].every, timedelta(hours=1))

    def test_a_worker_heartbeat_runs_the_scheduler(self):
        stop = start_heartbeat("w1")
        stop.set()
        self.assertTrue(WorkerHeartbeat.objects.filter(worker_id="w1").exists())
        self.assertTrue(DBTaskResult.objects.filter(task_path=job_tasks.reap_lost_jobs.module_path).exists())
        self.assertTrue(PeriodicSchedule.objects.filter(task_path=job_tasks.prune_job_results.module_path).exists())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent claims need PostgreSQL row locking")
class ConcurrentClaimTests(TransactionTestCase):
    def test_many_schedulers_at_once_enqueue_a_period_once(self):
        now = timezone.now()
        run_due_periodic_jobs(now - timedelta(hours=2), PROBE_JOBS)  # create the row; the next period is due
        barrier = threading.Barrier(8)
        enqueued = []

        class SlowTask:
            # Holding the claim's transaction open a while makes every other scheduler read the row as due.
            module_path = worker_tasks.hourly_probe.module_path

            def enqueue(self):
                time.sleep(0.3)
                return worker_tasks.hourly_probe.enqueue()

        slow = {SlowTask.module_path: PeriodicJob(SlowTask(), timedelta(hours=1))}

        def scheduler():
            try:
                barrier.wait()
                enqueued.extend(run_due_periodic_jobs(now, slow))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=scheduler) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(enqueued), 1)
        self.assertEqual(DBTaskResult.objects.filter(task_path=worker_tasks.hourly_probe.module_path).count(), 2)


class RetryTests(TestCase):
    def setUp(self):
        self.out = str(Path(tempfile.mkdtemp()) / "runs.txt")

    def test_backoff_grows_exponentially_up_to_the_cap(self):
        delays = [exponential_backoff(n, jitter=0).total_seconds() for n in range(1, 10)]
        self.assertEqual(delays, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600])
        for _ in range(50):
            self.assertTrue(27 <= exponential_backoff(1).total_seconds() <= 33)

    def test_a_transient_error_schedules_the_next_attempt(self):
        out = self.out
        before = timezone.now()
        with self.assertRaises(RetryScheduled) as caught:
            worker_tasks.always_down.call(out)
        self.assertIsInstance(caught.exception.__cause__, ConnectionError)
        retry = DBTaskResult.objects.get(task_path=worker_tasks.always_down.module_path)
        self.assertEqual(retry.args_kwargs, {"args": [out], "kwargs": {"_attempt": 2}})
        self.assertEqual(retry.status, "READY")
        delay = (retry.run_after - before).total_seconds()
        self.assertTrue(0.4 < delay < 0.7, delay)

    def test_the_last_attempt_fails_with_the_original_error(self):
        with self.assertRaises(ConnectionError) as caught:
            worker_tasks.always_down.call(self.out, _attempt=3)
        self.assertEqual(caught.exception.__notes__, ["Gave up after 3 attempts."])
        self.assertFalse(DBTaskResult.objects.exists())

    def test_other_errors_are_not_retried(self):
        with self.assertRaises(ValueError):
            worker_tasks.broken.call(self.out)
        self.assertFalse(DBTaskResult.objects.exists())


def make_result(task, *, status="SUCCESSFUL", at=None, error="", exc_path="", worker="", kwargs=None, **fields):
    result = task.enqueue(**(kwargs or {}))
    at = at or timezone.now()
    DBTaskResult.objects.filter(id=result.id).update(
        status=status,
        enqueued_at=at,
        started_at=at if status != "READY" else None,
        finished_at=at + timedelta(milliseconds=1500) if status in ("SUCCESSFUL", "FAILED") else None,
        traceback=error,
        exception_class_path=exc_path,
        worker_ids=[worker] if worker else [],
        **fields,
    )
    return DBTaskResult.objects.get(id=result.id)


class ReaperTests(TestCase):
    def test_jobs_of_dead_workers_are_failed_and_retried_when_they_have_a_policy(self):
        old = timezone.now() - timedelta(minutes=10)
        WorkerHeartbeat.objects.create(worker_id="dead", hostname="h", pid=1, seen_at=old)
        WorkerHeartbeat.objects.create(worker_id="alive", hostname="h", pid=2)
        lost = make_result(worker_tasks.always_down, status="RUNNING", at=old, worker="dead", kwargs={"path": "/x"})
        slow = make_result(worker_tasks.sleep_for, status="RUNNING", at=old, worker="alive", kwargs={"seconds": 1})
        young = make_result(worker_tasks.sleep_for, status="RUNNING", worker="dead", kwargs={"seconds": 1})

        self.assertEqual(job_tasks.reap_lost_jobs.call(), 1)

        lost.refresh_from_db()
        self.assertEqual((lost.status, lost.exception_class_path), ("FAILED", WORKER_LOST_PATH))
        self.assertIn("worker dead stopped sending heartbeats", lost.traceback)
        retry = DBTaskResult.objects.get(status="READY", task_path=worker_tasks.always_down.module_path)
        self.assertEqual(retry.args_kwargs["kwargs"], {"path": "/x", "_attempt": 2})
        for job in (slow, young):
            job.refresh_from_db()
            self.assertEqual(job.status, "RUNNING")

    @override_settings(WORKER_HEARTBEAT_MAX_AGE=60)
    def test_alive_is_a_heartbeat_within_the_max_age(self):
        now = timezone.now()
        WorkerHeartbeat.objects.create(worker_id="fresh", hostname="h", pid=1, seen_at=now - timedelta(seconds=59))
        WorkerHeartbeat.objects.create(worker_id="edge", hostname="h", pid=2, seen_at=now - timedelta(seconds=60))
        WorkerHeartbeat.objects.create(worker_id="stale", hostname="h", pid=3, seen_at=now - timedelta(seconds=61))
        alive = set(WorkerHeartbeat.objects.alive(now).values_list("worker_id", flat=True))
        self.assertEqual(alive, {"fresh", "edge"})
        self.assertEqual({hb.worker_id for hb in WorkerHeartbeat.objects.all() if hb.is_alive(now)}, alive, "one rule")

    def test_old_finished_results_are_pruned(self):
        old = timezone.now() - timedelta(days=job_tasks.JOB_RETENTION_DAYS + 1)
        gone = [make_result(worker_tasks.sleep_for, at=old, kwargs={"seconds": 0}) for _ in range(3)]
        gone.append(make_result(worker_tasks.sleep_for, status="FAILED", at=old, kwargs={"seconds": 0}))
        kept = [
            make_result(worker_tasks.sleep_for, kwargs={"seconds": 0}),
            make_result(worker_tasks.sleep_for, status="READY", at=old, kwargs={"seconds": 0}),
        ]
        with mock.patch.object(job_tasks, "PRUNE_BATCH", 2):
            self.assertEqual(job_tasks.prune_job_results.call(), 4)
        self.assertEqual(set(DBTaskResult.objects.values_list("id", flat=True)), {r.id for r in kept})


class JobListPageTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.cast = make_cast()

    def setUp(self):
        self.client.force_login(self.cast["alice"])

    def test_only_admins_see_jobs(self):
        url = reverse("jobs:job_list")
        for name in ("bob", "carol", "mia", "rory"):
            self.client.force_login(self.cast[name])
            self.assertEqual(self.client.get(url).status_code, 403, name)
        job = make_result(worker_tasks.sleep_for, kwargs={"seconds": 0})
        self.assertEqual(self.client.get(reverse("jobs:job_detail", args=[job.id])).status_code, 403)
        self.assertEqual(self.client.post(reverse("jobs:job_run_again", args=[job.id])).status_code, 403)
        self.client.logout()
        self.assertEqual(self.client.get(url).status_code, 302)

    def test_the_list_shows_status_attempts_errors_times_and_duration(self):
        make_result(worker_tasks.record, kwargs={"path": "/x", "key": 1})
        make_result(
            worker_tasks.always_down,
            status="FAILED",
            exc_path=RETRY_SCHEDULED_PATH,
            error="Traceback ...\nsmarketing.jobs.retry.RetryScheduled: attempt 1 of 3 failed; attempt 2 scheduled",
            kwargs={"path": "/x"},
        )
        make_result(
            worker_tasks.always_down,
            status="FAILED",
            exc_path="builtins.ConnectionError",
            error=(
                'Traceback ...\nConnectionError: <script>alert("x")</script> upstream is down\n'
                "Gave up after 3 attempts."
            ),
            kwargs={"path": "/x", "_attempt": 3},
        )
        WorkerHeartbeat.objects.create(worker_id="worker-on-h1", hostname="h1", pid=42)
        WorkerHeartbeat.objects.create(
            worker_id="gone-last-week", hostname="h2", pid=7, seen_at=timezone.now() - timedelta(days=7)
        )
        response = self.client.get(reverse("jobs:job_list"))
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        self.assertIn("record", html)
        self.assertIn("Succeeded", html)
        self.assertIn("Failed, retried", html)
        self.assertIn("3 / 3", html)
        self.assertIn("1.5 s", html)
        self.assertIn("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; upstream is down", html)
        self.assertNotIn('<script>alert("x")', html)
        self.assertIn("Gave up after 3 attempts.", html)
        self.assertIn("worker-on-h1", html)
        self.assertNotIn("gone-last-week", html)
        self.assertIn("RetryScheduled: attempt 1 of 3 failed", html)
        self.assertNotIn("smarketing.jobs.retry.RetryScheduled: attempt", html)
        self.assertIn("reap_lost_jobs", html)  # the periodic jobs table

    def test_status_filter(self):
        make_result(worker_tasks.record, kwargs={"path": "/x", "key": 1})
        make_result(worker_tasks.broken, status="FAILED", exc_path="builtins.ValueError", error="ValueError: bug")
        make_result(worker_tasks.always_down, status="FAILED", exc_path=RETRY_SCHEDULED_PATH, error="Retry")
        url = reverse("jobs:job_list")
        failed = self.client.get(url, {"status": "failed"}).context["page"].rows
        self.assertEqual([r.task_name for r in failed], ["broken"])
        retried = self.client.get(url, {"status": "retried"}).context["page"].rows
        self.assertEqual([r.task_name for r in retried], ["always_down"])
        everything = self.client.get(url, {"status": "bogus"}).context["page"].rows
        self.assertEqual(len(everything), 3)

    @override_settings(PAGE_SIZE=5)
    def test_keyset_pagination_walks_every_job_once(self):
        start = timezone.now() - timedelta(hours=1)
        made = {make_result(worker_tasks.sleep_for, at=start, kwargs={"seconds": n}).id for n in range(4)}
        made |= {
            make_result(worker_tasks.sleep_for, at=start + timedelta(seconds=n), kwargs={"seconds": n}).id
            for n in range(8)
        }
        seen, after, pages = [], None, 0
        while True:
            response = self.client.get(reverse("jobs:job_list"), {"after": after} if after else {})
            page = response.context["page"]
            seen += [r.id for r in page.rows]
            pages += 1
            if not page.next_cursor:
                break
            after = page.next_cursor
        self.assertEqual(pages, 3)
        self.assertEqual(len(seen), len(made))
        self.assertEqual(set(seen), made)

    def test_a_tampered_cursor_shows_the_first_page(self):
        make_result(worker_tasks.sleep_for, kwargs={"seconds": 0})
        for bad in ("zzz", "", encode_cursor(timezone.now(), DBTaskResult.objects.get().id)[:-3], "%%%"):
            response = self.client.get(reverse("jobs:job_list"), {"after": bad})
            self.assertEqual(response.status_code, 200)
        self.assertIsNone(decode_cursor("bm90LWEtY3Vyc29y"))

    def test_query_count_does_not_grow_with_rows(self):
        url = reverse("jobs:job_list")
        self.client.get(url)  # discover tasks modules, create sessions
        make_result(worker_tasks.sleep_for, kwargs={"seconds": 0})
        WorkerHeartbeat.objects.create(worker_id="w1", hostname="h", pid=1)
        run_due_periodic_jobs()
        # session, user, schedules (select + missing check), last results, heartbeats, 3 capped counts, the page,
        # outbox consumers (unnumbered count, newest seq, cursors, dead letters)
        with self.assertNumQueries(14):
            self.client.get(url)
        for n in range(30):
            make_result(worker_tasks.always_down, status="FAILED", exc_path="x.Y", error="Y: n", kwargs={"path": n})
            WorkerHeartbeat.objects.create(worker_id=f"w{n + 2}", hostname="h", pid=n)
        with self.assertNumQueries(14):
            self.client.get(url)

    def test_detail_shows_the_whole_traceback_escaped_and_runs_a_failed_job_again(self):
        job = make_result(
            worker_tasks.always_down,
            status="FAILED",
            exc_path="builtins.ConnectionError",
            error="Traceback (most recent call last):\n  File x\nConnectionError: <b>down</b>",
            kwargs={"path": "/srv/x", "_attempt": 3},
        )
        response = self.client.get(reverse("jobs:job_detail", args=[job.id]))
        self.assertContains(response, "File x")
        self.assertContains(response, "&lt;b&gt;down&lt;/b&gt;")
        self.assertContains(response, "Run again")

        response = self.client.post(reverse("jobs:job_run_again", args=[job.id]))
        again = DBTaskResult.objects.exclude(id=job.id).get()
        self.assertRedirects(response, reverse("jobs:job_detail", args=[again.id]))
        self.assertEqual(again.status, "READY")
        self.assertEqual(again.args_kwargs, {"args": [], "kwargs": {"path": "/srv/x"}})

    def test_only_failed_jobs_run_again(self):
        job = make_result(worker_tasks.sleep_for, kwargs={"seconds": 0})
        self.client.post(reverse("jobs:job_run_again", args=[job.id]))
        self.assertEqual(DBTaskResult.objects.count(), 1)
        self.assertEqual(self.client.get(reverse("jobs:job_detail", args=[job.id])).status_code, 200)
        missing = "00000000-0000-0000-0000-000000000000"
        self.assertEqual(self.client.get(reverse("jobs:job_detail", args=[missing])).status_code, 404)


class FormattingTests(TestCase):
    def test_durations_and_periods(self):
        self.assertEqual(duration(timedelta(milliseconds=85)), "85 ms")
        self.assertEqual(duration(timedelta(seconds=4.25)), "4.2 s")
        self.assertEqual(duration(timedelta(minutes=3, seconds=4)), "3 min 4 s")
        self.assertEqual(duration(timedelta(hours=2, minutes=5)), "2 h 5 min")
        self.assertEqual(duration(1500), "1.5 s")
        self.assertEqual(duration(None), "–")
        self.assertEqual(every(timedelta(minutes=1)), "every minute")
        self.assertEqual(every(timedelta(minutes=5)), "every 5 minutes")
        self.assertEqual(every(timedelta(hours=1)), "every hour")
        self.assertEqual(every(timedelta(days=2)), "every 2 days")
        self.assertEqual(every(timedelta(seconds=90)), "every 90 seconds")

    def test_error_excerpt_keeps_the_message_and_the_give_up_note(self):
        self.assertEqual(error_excerpt("Traceback\n  File a\nValueError: bad\n"), "ValueError: bad")
        tail = "Traceback\n  File a\nConnectionError: down\nGave up after 3 attempts.\n"
        self.assertEqual(error_excerpt(tail), "ConnectionError: down\nGave up after 3 attempts.")
        self.assertTrue(error_excerpt("E: " + "x" * 1000).endswith("…"))
