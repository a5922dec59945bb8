"""Housekeeping of the job table (jobs of dead workers, old results) and the outbox consumers' runs."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from smarketing.core.models import WorkerHeartbeat
from smarketing.jobs import outbox
from smarketing.jobs.periodic import periodic
from smarketing.jobs.queries import uses_database_backend
from smarketing.jobs.retry import WORKER_LOST_PATH, attempt_of, enqueue_retry, policy_of

logger = logging.getLogger(__name__)

# Finished job results older than this are deleted (the job list shows recent history, not an archive).
JOB_RETENTION_DAYS = settings.JOB_RETENTION_DAYS
PRUNE_BATCH = 1000


@periodic(every=timedelta(minutes=1))
@task()
def reap_lost_jobs() -> int:
    """Fail jobs left RUNNING by a worker that died (no heartbeat), retrying those that have a retry policy.

    django-tasks-db has no lease: a job claimed by a worker that is killed stays RUNNING forever. A job counts as
    lost when it started over WORKER_HEARTBEAT_MAX_AGE ago and its worker has not beaten since that long.
    """
    from django_tasks_db.models import DBTaskResult

    if not uses_database_backend():
        return 0
    now = timezone.now()
    cutoff = WorkerHeartbeat.alive_since(now)
    alive = set(WorkerHeartbeat.objects.alive(now).values_list("worker_id", flat=True))
    lost = 0
    running = DBTaskResult.objects.filter(status="RUNNING", started_at__lt=cutoff).only(
        "id",
        "task_path",
        "worker_ids",
        "started_at",
        "args_kwargs",
        "queue_name",
        "priority",
        "backend_name",
        "run_after",
    )
    for result in running[:500]:
        worker = result.worker_ids[-1] if result.worker_ids else ""
        if worker in alive:
            continue
        # Conditional: if the worker was only slow and finishes the job now, its own update wins or ours is void.
        failed = DBTaskResult.objects.filter(id=result.id, status="RUNNING", started_at=result.started_at).update(
            status="FAILED",
            finished_at=now,
            exception_class_path=WORKER_LOST_PATH,
            traceback=(
                f"WorkerLost: worker {worker or '(unknown)'} stopped sending heartbeats while running this job "
                f"(started {result.started_at.isoformat(timespec='seconds')})."
            ),
        )
        if not failed:
            continue
        lost += 1
        logger.warning("job %s (%s) lost with worker %s", result.id, result.task_path, worker)
        try:
            job_task = result.task
        except (ImportError, SuspiciousOperation):
            logger.warning("lost job %s: task %s no longer exists, not retried", result.id, result.task_path)
            continue
        policy = policy_of(job_task)
        attempt = attempt_of(result.args_kwargs)
        if policy and attempt < policy.max_attempts:
            kwargs = dict(result.args_kwargs.get("kwargs", {}))
            kwargs.pop("_attempt", None)
            enqueue_retry(job_task.func, result.args_kwargs.get("args", []), kwargs, attempt + 1, policy.delay(attempt))
    return lost


@periodic(every=timedelta(hours=1))
@task()
def prune_job_results() -> int:
    """Delete finished job results older than JOB_RETENTION_DAYS, in small batches (no long table lock)."""
    from django_tasks_db.models import DBTaskResult

    if not uses_database_backend():
        return 0
    cutoff = timezone.now() - timedelta(days=JOB_RETENTION_DAYS)
    old = DBTaskResult.objects.filter(Q(status="SUCCESSFUL") | Q(status="FAILED"), enqueued_at__lt=cutoff)
    deleted = 0
    while True:
        ids = list(old.order_by().values_list("id", flat=True)[:PRUNE_BATCH])
        if not ids:
            return deleted
        deleted += DBTaskResult.objects.filter(id__in=ids).delete()[0]


@task()
def run_outbox_consumer(name: str) -> dict:
    """One outbox consumer catches up (each consumer is its own job, so a slow one holds back no other)."""
    if name not in outbox.consumers():
        logger.warning("outbox consumer %s is not registered; nothing to do", name)
        return {"consumer": name, "registered": False}
    run = outbox.run_consumer(name)
    if run.busy and outbox.lag(name):
        # Another worker holds the cursor. It may have read its last batch just before our events committed, so
        # look again shortly rather than leave them to the sweep.
        outbox.enqueue_run(name, run_after=timezone.now() + outbox.BUSY_RETRY)
    return {"consumer": name, "handled": run.handled, "produced": run.produced, "dead": run.dead, "busy": run.busy}


@periodic(every=timedelta(minutes=1))
@task()
def sweep_outbox() -> list[str]:
    """Number committed events and enqueue a run of every consumer that is behind (what a lost wake-up missed)."""
    return outbox.sweep()


@periodic(every=timedelta(hours=1))
@task()
def prune_outbox() -> int:
    """Delete events every consumer has handled, once older than the retention window."""
    return outbox.prune_events()
