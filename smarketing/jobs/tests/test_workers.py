"""Real `smarketing worker` processes on the test database (PostgreSQL, or a file copy of the SQLite test DB)."""

import os
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import TransactionTestCase
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from smarketing.core.models import WorkerHeartbeat
from smarketing.jobs import tasks as job_tasks
from smarketing.jobs.models import PeriodicSchedule
from smarketing.jobs.periodic import period_start
from smarketing.jobs.retry import RETRY_SCHEDULED_PATH, WORKER_LOST_PATH
from smarketing.jobs.testing import WorkerPool
from smarketing.jobs.tests import worker_tasks
from smarketing.jobs.tests.worker_tasks import runs

PROBE = f"{worker_tasks.hourly_probe.module_path}"


def results_of(task) -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=task.module_path).order_by("enqueued_at", "id"))


class WorkerTestCase(TransactionTestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="smk-jobs-test-"))
        self.out = str(self.dir / "runs.txt")


@pytest.mark.worker
class ExactlyOnceTests(WorkerTestCase):
    def test_two_workers_run_each_of_200_jobs_exactly_once(self):
        for key in range(200):
            worker_tasks.record.enqueue(self.out, key, pause=0.01)

        with WorkerPool(2) as pool:
            pool.wait(timeout=120)

        lines = runs(self.out)
        keys = Counter(int(line.split()[0]) for line in lines)
        self.assertEqual(len(lines), 200, "every job ran, and none twice")
        self.assertEqual(set(keys), set(range(200)))
        self.assertEqual(max(keys.values()), 1, [k for k, n in keys.items() if n > 1])
        results = results_of(worker_tasks.record)
        self.assertEqual(Counter(r.status for r in results), {"SUCCESSFUL": 200})
        self.assertTrue(all(len(r.worker_ids) == 1 for r in results), "no job was claimed twice")
        # Both workers took part (the jobs pause 10 ms each, so one worker cannot drain the queue alone).
        self.assertEqual(len({r.worker_ids[0] for r in results}), 2)
        self.assertEqual(len({line.split()[1] for line in lines}), 2)
        self.assertEqual(sorted(r.return_value for r in results), list(range(200)))


@pytest.mark.worker
class PeriodicTests(WorkerTestCase):
    def test_a_periodic_job_runs_once_per_period_with_two_workers(self):
        env = {"JOBS_TEST_OUTPUT": self.out}
        preload = ("smarketing.jobs.tests.worker_tasks",)
        for period in range(1, 4):
            # Two workers start together; each runs the scheduler at start (after its first heartbeat).
            with WorkerPool(2, env=env, preload=preload) as pool:
                pool.wait()
            self.assertEqual(len(runs(self.out)), period, f"period {period}: ran once")
            # Same period again: nothing more runs.
            with WorkerPool(2, env=env, preload=preload) as pool:
                pool.wait()
            self.assertEqual(len(runs(self.out)), period)
            schedule = PeriodicSchedule.objects.get(task_path=PROBE)
            self.assertGreater(schedule.next_run_at, timezone.now())
            self.assertEqual(schedule.every_seconds, 3600)
            # The hour passes.
            PeriodicSchedule.objects.filter(task_path=PROBE).update(next_run_at=timezone.now() - timedelta(seconds=1))
        probes = results_of(worker_tasks.hourly_probe)
        self.assertEqual([r.status for r in probes], ["SUCCESSFUL"] * 3)
        self.assertEqual(str(probes[-1].id), PeriodicSchedule.objects.get(task_path=PROBE).last_result_id)
        # The app's own every-minute housekeeping was scheduled by the workers too: once in each minute.
        reaps = [period_start(r.enqueued_at, timedelta(minutes=1)) for r in results_of(job_tasks.reap_lost_jobs)]
        self.assertGreaterEqual(len(reaps), 1)
        self.assertEqual(len(reaps), len(set(reaps)))


@pytest.mark.worker
class RetryTests(WorkerTestCase):
    def test_transient_failures_are_retried_with_backoff_then_marked_failed(self):
        worker_tasks.always_down.enqueue(self.out)

        with WorkerPool(2, batch=False) as pool:
            pool.wait_until(
                lambda: (
                    len(results_of(worker_tasks.always_down)) == 3
                    and results_of(worker_tasks.always_down)[-1].status == "FAILED"
                )
            )

        attempts = results_of(worker_tasks.always_down)
        self.assertEqual([r.args_kwargs["kwargs"].get("_attempt", 1) for r in attempts], [1, 2, 3])
        self.assertEqual([r.status for r in attempts], ["FAILED"] * 3)
        self.assertEqual([r.exception_class_path for r in attempts[:2]], [RETRY_SCHEDULED_PATH] * 2)
        self.assertIn("attempt 2 scheduled", attempts[0].traceback)
        self.assertEqual(attempts[2].exception_class_path, "builtins.ConnectionError")
        self.assertIn("upstream is down", attempts[2].traceback)
        self.assertIn("Gave up after 3 attempts.", attempts[2].traceback)
        # Exponential backoff: each retry is scheduled 0.5 s then 1 s (±10 % jitter) after it is enqueued, and no
        # attempt starts before its time. (The wall-clock gaps between starts also carry the workers' polling,
        # which a loaded machine stretches, so they are only checked against the schedule, not each other.)
        delays = [(a.run_after - a.enqueued_at).total_seconds() for a in attempts[1:]]
        self.assertTrue(0.40 <= delays[0] <= 0.56, delays)  # enqueued_at is stamped just after run_after
        self.assertTrue(0.80 <= delays[1] <= 1.11, delays)
        for attempt in attempts[1:]:
            self.assertGreaterEqual(attempt.started_at, attempt.run_after)
        self.assertEqual(len(runs(self.out)), 3)

    def test_a_job_that_recovers_succeeds_on_a_later_attempt(self):
        worker_tasks.down_twice.enqueue(self.out)

        with WorkerPool(1, batch=False) as pool:
            pool.wait_until(lambda: results_of(worker_tasks.down_twice)[-1].status == "SUCCESSFUL")

        attempts = results_of(worker_tasks.down_twice)
        self.assertEqual([r.status for r in attempts], ["FAILED", "FAILED", "SUCCESSFUL"])
        self.assertEqual(attempts[2].return_value, "ok")
        self.assertEqual(len(runs(self.out)), 3)

    def test_other_errors_are_not_retried(self):
        worker_tasks.broken.enqueue(self.out)

        with WorkerPool(1) as pool:
            pool.wait()

        [attempt] = results_of(worker_tasks.broken)
        self.assertEqual(attempt.status, "FAILED")
        self.assertEqual(attempt.exception_class_path, "builtins.ValueError")
        self.assertEqual(runs(self.out), ["attempt"])


@pytest.mark.worker
class LostWorkerTests(WorkerTestCase):
    def test_a_job_whose_worker_was_killed_is_marked_lost(self):
        result = worker_tasks.sleep_for.enqueue(60)

        with WorkerPool(1, batch=False) as pool:
            pool.wait_until(lambda: DBTaskResult.objects.filter(id=result.id, status="RUNNING").exists())
            pool.kill(0)
            pool.sync()

        # Time passes: the dead worker's heartbeat and the job's start are now older than the allowed age.
        long_ago = timezone.now() - timedelta(minutes=10)
        WorkerHeartbeat.objects.update(seen_at=long_ago)
        DBTaskResult.objects.filter(id=result.id).update(started_at=long_ago)

        self.assertEqual(job_tasks.reap_lost_jobs.call(), 1)

        lost = DBTaskResult.objects.get(id=result.id)
        self.assertEqual(lost.status, "FAILED")
        self.assertEqual(lost.exception_class_path, WORKER_LOST_PATH)
        self.assertIn("stopped sending heartbeats", lost.traceback)
        self.assertEqual(job_tasks.reap_lost_jobs.call(), 0, "reaped once")


def test_worker_tasks_module_is_importable_without_test_env():
    # hourly_probe runs in any worker that imports worker_tasks; it must tolerate a missing output path.
    os.environ.pop("JOBS_TEST_OUTPUT", None)
    worker_tasks.hourly_probe.call()
