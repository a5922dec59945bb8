"""Reads behind the job list: recent job results, periodic schedules, worker heartbeats, outbox consumers."""

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from django.db.models import Q
from django.db.models.functions import Right
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task_backends

from smarketing.core.models import Event, WorkerHeartbeat
from smarketing.jobs import outbox
from smarketing.jobs.models import OutboxCursor, OutboxDeadLetter, PeriodicSchedule
from smarketing.jobs.periodic import discover
from smarketing.jobs.retry import RETRY_SCHEDULED_PATH, WORKER_LOST_PATH, attempt_of

TRACEBACK_TAIL = 1500  # characters of the traceback read for the list (the detail page shows all of it)
COUNT_CAP = 1000  # counts on the page stop here, so a huge backlog never costs a full scan

STATUS_FILTERS = {
    "ready": Q(status="READY"),
    "running": Q(status="RUNNING"),
    "successful": Q(status="SUCCESSFUL"),
    "failed": Q(status="FAILED") & ~Q(exception_class_path=RETRY_SCHEDULED_PATH),
    "retried": Q(status="FAILED", exception_class_path=RETRY_SCHEDULED_PATH),
}
STATUS_LABELS = {
    "ready": "Queued",
    "running": "Running",
    "successful": "Succeeded",
    "failed": "Failed",
    "retried": "Failed, retried",
}


def uses_database_backend() -> bool:
    from django_tasks_db.backend import DatabaseBackend

    return isinstance(task_backends["default"], DatabaseBackend)


@lru_cache(maxsize=512)
def task_info(task_path: str) -> tuple[str, int | None]:
    """(display name, max attempts or None) of a task path; tolerant of tasks whose code is gone."""
    try:
        task = import_string(task_path)
    except ImportError:
        return task_path.rsplit(".", 1)[-1], None
    policy = getattr(getattr(task, "func", None), "retry_policy", None)
    return getattr(task, "name", task_path), (policy.max_attempts if policy else None)


def error_excerpt(traceback_tail: str, limit: int = 300) -> str:
    """The last meaningful lines of a traceback: the exception message and any notes."""
    lines = [line.rstrip() for line in (traceback_tail or "").splitlines() if line.strip()]
    keep = 2 if len(lines) > 1 and lines[-1].startswith("Gave up") else 1  # the message, and the give-up note
    excerpt = "\n".join(lines[-keep:])
    return excerpt if len(excerpt) <= limit else excerpt[: limit - 1] + "…"


@dataclass
class JobRow:
    id: uuid.UUID
    status: str  # a STATUS_FILTERS key
    task_path: str
    task_name: str
    queue_name: str
    attempt: int
    max_attempts: int | None
    enqueued_at: datetime
    run_after: datetime | None  # only when in the future
    started_at: datetime | None
    finished_at: datetime | None
    error_class: str
    error: str
    worker_id: str

    @property
    def duration(self) -> timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def status_label(self) -> str:
        if self.status == "failed" and self.error_class == WORKER_LOST_PATH:
            return "Lost (worker died)"
        if self.status == "ready" and self.run_after:
            return "Scheduled"
        return STATUS_LABELS[self.status]


def _status_key(status: str, exception_class_path: str) -> str:
    if status == "FAILED":
        return "retried" if exception_class_path == RETRY_SCHEDULED_PATH else "failed"
    return status.lower()


def to_row(result, now: datetime) -> JobRow:
    name, max_attempts = task_info(result.task_path)
    status = _status_key(result.status, result.exception_class_path)
    tail = getattr(result, "traceback_tail", None)
    if tail is None:
        tail = result.traceback
    # Jobs enqueued without run_after carry the far-future sentinel 9999-01-01; only a real future time counts.
    run_after = (
        result.run_after
        if result.status == "READY" and now < result.run_after and result.run_after.year < 9999
        else None
    )
    return JobRow(
        id=result.id,
        status=status,
        task_path=result.task_path,
        task_name=name,
        queue_name=result.queue_name,
        attempt=attempt_of(result.args_kwargs),
        max_attempts=max_attempts,
        enqueued_at=result.enqueued_at,
        run_after=run_after,
        started_at=result.started_at,
        finished_at=result.finished_at,
        error_class=result.exception_class_path if result.status == "FAILED" else "",
        error=_short_names(error_excerpt(tail), result.exception_class_path) if result.status == "FAILED" else "",
        worker_id=(result.worker_ids or [""])[-1],
    )


def _short_names(excerpt: str, exception_class_path: str) -> str:
    """'smarketing.jobs.retry.RetryScheduled: msg' reads as 'RetryScheduled: msg'."""
    module, _, name = exception_class_path.rpartition(".")
    return excerpt.replace(f"{exception_class_path}: ", f"{name}: ") if module else excerpt


# Keyset pagination on (enqueued_at, id), newest first. The shared keyset_page cannot encode UUID primary keys
# (json), so this page carries its own two-field cursor: "<iso time>|<uuid hex>".
def encode_cursor(enqueued_at: datetime, result_id: uuid.UUID) -> str:
    raw = f"{enqueued_at.isoformat()}|{result_id.hex}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[datetime, uuid.UUID] | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        when, _, hexid = raw.partition("|")
        moment = datetime.fromisoformat(when)
        result_id = uuid.UUID(hex=hexid)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None
    if timezone.is_naive(moment):
        return None
    return moment, result_id


@dataclass
class JobPage:
    rows: list[JobRow]
    next_cursor: str | None
    has_previous: bool


def job_page(status: str | None, cursor: str | None, size: int) -> JobPage:
    """One page of job results, newest first, optionally filtered by a STATUS_FILTERS key. Never counts."""
    from django_tasks_db.models import DBTaskResult

    qs = DBTaskResult.objects.all()
    if status in STATUS_FILTERS:
        qs = qs.filter(STATUS_FILTERS[status])
    after = decode_cursor(cursor) if cursor else None
    if after:
        moment, result_id = after
        qs = qs.filter(Q(enqueued_at__lte=moment), Q(enqueued_at__lt=moment) | Q(enqueued_at=moment, id__lt=result_id))
    qs = (
        qs.order_by("-enqueued_at", "-id")
        .annotate(traceback_tail=Right("traceback", TRACEBACK_TAIL))
        .defer("traceback", "return_value")
    )
    results = list(qs[: size + 1])
    next_cursor = None
    if len(results) > size:
        results = results[:size]
        next_cursor = encode_cursor(results[-1].enqueued_at, results[-1].id)
    now = timezone.now()
    return JobPage(rows=[to_row(r, now) for r in results], next_cursor=next_cursor, has_previous=bool(after))


def capped_count(qs) -> str:
    """'37' or '1000+': a count that stops at COUNT_CAP rows."""
    n = qs.order_by().values("pk")[: COUNT_CAP + 1].count()
    return f"{COUNT_CAP}+" if n > COUNT_CAP else str(n)


def queue_stats() -> dict[str, str]:
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    return {
        "ready": capped_count(DBTaskResult.objects.ready()),
        "running": capped_count(DBTaskResult.objects.filter(status="RUNNING")),
        "failed_24h": capped_count(
            DBTaskResult.objects.filter(STATUS_FILTERS["failed"], enqueued_at__gte=now - timedelta(hours=24))
        ),
    }


@dataclass
class PeriodicRow:
    task_path: str
    task_name: str
    every: timedelta
    last_run_at: datetime | None
    next_run_at: datetime | None
    last_status: str  # a STATUS_FILTERS key, or "" when unknown
    last_result_id: str

    @property
    def last_status_label(self) -> str:
        return STATUS_LABELS.get(self.last_status, "")


def periodic_rows() -> list[PeriodicRow]:
    """Every registered periodic job with its last and next run (two queries)."""
    from django_tasks_db.models import DBTaskResult

    jobs = discover()
    schedules = {s.task_path: s for s in PeriodicSchedule.objects.filter(task_path__in=jobs)}
    result_ids = []
    for schedule in schedules.values():
        try:
            result_ids.append(uuid.UUID(schedule.last_result_id))
        except ValueError:
            pass
    statuses = {}
    if result_ids and uses_database_backend():
        statuses = {
            str(r_id): _status_key(status, exc)
            for r_id, status, exc in DBTaskResult.objects.filter(id__in=result_ids).values_list(
                "id", "status", "exception_class_path"
            )
        }
    rows = []
    for path, job in sorted(jobs.items()):
        schedule = schedules.get(path)
        last_id = schedule.last_result_id if schedule else ""
        rows.append(
            PeriodicRow(
                task_path=path,
                task_name=job.name,
                every=job.every,
                last_run_at=schedule.last_run_at if schedule else None,
                next_run_at=schedule.next_run_at if schedule else None,
                last_status=statuses.get(_normalize_uuid(last_id), ""),
                last_result_id=_normalize_uuid(last_id),
            )
        )
    return rows


def _normalize_uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return ""


@dataclass
class WorkerRow:
    worker_id: str
    hostname: str
    pid: int
    started_at: datetime
    seen_at: datetime
    age: timedelta
    alive: bool


def worker_rows(limit: int = 50, within: timedelta = timedelta(days=1)) -> list[WorkerRow]:
    """Workers heard from in the last day (a stopped worker's last heartbeat stays in the table)."""
    now = timezone.now()
    return [
        WorkerRow(
            worker_id=hb.worker_id,
            hostname=hb.hostname,
            pid=hb.pid,
            started_at=hb.started_at,
            seen_at=hb.seen_at,
            age=now - hb.seen_at,
            alive=hb.is_alive(now),
        )
        for hb in WorkerHeartbeat.objects.filter(seen_at__gte=now - within).order_by("-seen_at")[:limit]
    ]


@dataclass
class ConsumerRow:
    name: str
    registered: bool
    position: int
    lag: int  # events not handled yet (those the sequencer has not numbered yet included)
    handled: int
    dead: int
    last_error: str
    updated_at: datetime | None


def consumer_rows() -> list[ConsumerRow]:
    """Every outbox consumer (registered, or with a cursor left by one that is gone) and its lag (three queries)."""
    # Committed events wait for the sequencer's next run (the start of every consumer run) before they have a
    # seq; they are behind every consumer. The partial index on seq IS NULL keeps this count small and cheap.
    unnumbered = Event.objects.filter(seq__isnull=True).order_by().values("pk")[:COUNT_CAP].count()
    newest = outbox.newest_seq() + unnumbered
    cursors = {c.name: c for c in OutboxCursor.objects.all()}
    rows = []
    for name in sorted(set(cursors) | set(outbox.consumers())):
        cursor = cursors.get(name)
        position = cursor.position if cursor else 0
        rows.append(
            ConsumerRow(
                name=name,
                registered=name in outbox.consumers(),
                position=position,
                lag=max(newest - position, 0) if cursor else newest,
                handled=cursor.handled if cursor else 0,
                dead=cursor.dead if cursor else 0,
                last_error=error_excerpt(cursor.last_error) if cursor else "",
                updated_at=cursor.updated_at if cursor else None,
            )
        )
    return rows


def dead_letters(limit: int = 20) -> list[OutboxDeadLetter]:
    """The newest events a consumer set aside, with the error (the full traceback is in `error`)."""
    letters = list(OutboxDeadLetter.objects.select_related("event").order_by("-created_at", "-id")[:limit])
    for letter in letters:
        letter.excerpt = error_excerpt(letter.error)
    return letters
