"""Periodic jobs: declared next to the code they belong to, run once per period however many workers run.

    from smarketing.jobs.periodic import periodic

    @periodic(every=timedelta(minutes=5))
    @task()
    def sweep_something(): ...

Periods are aligned to the Unix epoch (every=1h runs once in each clock hour, UTC). Every worker calls
run_due_periodic_jobs() now and then; a job is enqueued by whichever worker first moves its schedule row's
next_run_at forward with a conditional UPDATE (WHERE next_run_at <= now). The database lets exactly one UPDATE
match: on PostgreSQL the second UPDATE waits for the first's row lock and then re-reads the row, which no longer
matches; on SQLite writers are serialized. The enqueue happens in the same transaction as the claim, so a crash
cannot claim a period without enqueuing its job (with the database backend).

A period missed entirely (no worker running) is not caught up: the job runs once when a worker comes back.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

logger = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIN_PERIOD = timedelta(seconds=1)


@dataclass(frozen=True)
class PeriodicJob:
    """One registered periodic job: a django-tasks Task and its period."""

    task: object  # django_tasks Task
    every: timedelta

    @property
    def path(self) -> str:
        return self.task.module_path

    @property
    def name(self) -> str:
        return self.task.name


_registry: dict[str, PeriodicJob] = {}


def periodic(*, every: timedelta):
    """Register a task (the result of @task()) to run once per `every`. Put it above @task()."""
    if not isinstance(every, timedelta) or every < MIN_PERIOD:
        raise ValueError(f"every must be a timedelta of at least {MIN_PERIOD}")

    def register(task):
        if not hasattr(task, "module_path") or not hasattr(task, "enqueue"):
            raise TypeError("@periodic goes above @task(): it registers a django-tasks Task")
        _registry[task.module_path] = PeriodicJob(task=task, every=every)
        return task

    return register


def discover() -> dict[str, PeriodicJob]:
    """Every periodic job of every installed app (importing each app's tasks module registers them)."""
    autodiscover_modules("tasks")
    return dict(_registry)


def period_start(moment: datetime, every: timedelta) -> datetime:
    """Start of the period containing `moment`, periods being aligned to the epoch."""
    elapsed = moment - EPOCH
    return EPOCH + (elapsed // every) * every


def ensure_schedules(jobs: dict[str, PeriodicJob], now: datetime | None = None) -> None:
    """Create the schedule rows of new periodic jobs (due at once) and record changed periods."""
    from smarketing.jobs.models import PeriodicSchedule

    now = now or timezone.now()
    existing = dict(PeriodicSchedule.objects.filter(task_path__in=jobs).values_list("task_path", "every_seconds"))
    missing = [
        PeriodicSchedule(task_path=path, every_seconds=int(job.every.total_seconds()), next_run_at=now)
        for path, job in jobs.items()
        if path not in existing
    ]
    if missing:
        # Several workers may start together: the unique task_path makes the late ones a no-op.
        PeriodicSchedule.objects.bulk_create(missing, ignore_conflicts=True)
    for path, job in jobs.items():
        seconds = int(job.every.total_seconds())
        if path in existing and existing[path] != seconds:
            PeriodicSchedule.objects.filter(task_path=path).update(every_seconds=seconds)


def run_due_periodic_jobs(now: datetime | None = None, jobs: dict[str, PeriodicJob] | None = None) -> list[str]:
    """Enqueue every periodic job whose period has come and that no other worker has claimed.

    Safe to call from any number of processes, as often as you like. Returns the task paths it enqueued.
    """
    from smarketing.jobs.models import PeriodicSchedule

    now = now or timezone.now()
    jobs = discover() if jobs is None else jobs
    if not jobs:
        return []
    ensure_schedules(jobs, now)
    due = list(
        PeriodicSchedule.objects.filter(task_path__in=jobs, next_run_at__lte=now).values_list("task_path", flat=True)
    )
    enqueued = []
    for path in due:
        job = jobs[path]
        next_run_at = period_start(now, job.every) + job.every
        try:
            with transaction.atomic():
                # The claim: only one process can move next_run_at past `now` (see the module docstring).
                claimed = PeriodicSchedule.objects.filter(task_path=path, next_run_at__lte=now).update(
                    next_run_at=next_run_at, last_run_at=now
                )
                if not claimed:
                    continue
                result = job.task.enqueue()
                PeriodicSchedule.objects.filter(task_path=path).update(last_result_id=str(result.id))
        except Exception:  # one broken job must not keep the others from running
            logger.exception("could not enqueue periodic job %s", path)
            continue
        enqueued.append(path)
        logger.info("periodic job %s enqueued (next run %s)", path, next_run_at.isoformat())
    return enqueued


def run_due_periodic_jobs_safely() -> None:
    """For callers in a worker loop: a failing schedule must never stop the worker (the next call retries)."""
    try:
        run_due_periodic_jobs()
    except Exception:
        logger.exception("periodic job scheduler failed")
