"""Running an import: claim it, count its rows, then process chunks of rows, each in one transaction.

Crash safety: a chunk's records, its rejected rows, the totals and the resume point (Import.next_row) commit
together. A crash loses at most the chunk in flight, and running the import again (Resume, or the worker picking
it up after its heartbeat went stale) starts at next_row: nothing is imported twice, nothing is skipped.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from queue import Full, Queue

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from smarketing.core.audit import record_audit
from smarketing.core.models import Origin
from smarketing.crm.models import ObjectType
from smarketing.dataio.csvfile import FileProblem, Record, Rows
from smarketing.dataio.importer.context import ChunkResult, Job, Writes
from smarketing.dataio.importer.deals import DealPlanner, Stages
from smarketing.dataio.importer.records import CompanyPlanner, ContactPlanner
from smarketing.dataio.models import Import, RejectedRow
from smarketing.dataio.values import date_order_evidence

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1000
RETRIES = 3
DATE_KINDS = ("date", "datetime", "custom_date")


class ClaimLost(Exception):
    """Another worker took this import over (ours was thought dead); stop without touching it."""


def upload_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "imports"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def file_path(imp: Import) -> Path:
    return upload_dir() / imp.file_name


def delete_file(imp: Import) -> None:
    if imp.file_name:
        file_path(imp).unlink(missing_ok=True)
        Import.objects.filter(pk=imp.pk).update(file_name="")
        imp.file_name = ""


def start(imp: Import, actor) -> None:
    """Queue a mapped import for a worker (the caller enqueues the task) and audit who started it."""
    Import.objects.filter(pk=imp.pk).update(status=Import.Status.QUEUED, error="")
    imp.status = Import.Status.QUEUED
    record_audit(
        actor=actor,
        action="import",
        obj=imp,
        origin=Origin.IMPORT,
        changes={"file": (None, imp.original_name), "object_type": (None, imp.object_type)},
    )


def resumable(imp: Import) -> bool:
    return (imp.status == Import.Status.FAILED and bool(imp.file_name)) or imp.is_stale


def claim(pk: int) -> bool:
    """Take a queued import, or a running one whose worker stopped sending heartbeats (conditional UPDATE)."""
    now = timezone.now()
    stale = now - Import.STALE_AFTER
    return (
        Import.objects.filter(pk=pk)
        .filter(Q(status=Import.Status.QUEUED) | Q(status=Import.Status.RUNNING, heartbeat_at__lt=stale))
        .update(status=Import.Status.RUNNING, heartbeat_at=now, started_at=now, error="")
        == 1
    )


def run(pk: int, *, progress: Callable[[Import], None] | None = None) -> Import:
    """Run (or continue) import `pk` in this process; returns it with its final totals."""
    if not claim(pk):
        return Import.objects.get(pk=pk)
    imp = Import.objects.select_related("created_by").get(pk=pk)
    try:
        _run(imp, progress)
    except ClaimLost:
        logger.warning("import %s was taken over by another worker", pk)
    except FileProblem as exc:
        _fail(imp, str(exc))
    except Exception as exc:
        logger.exception("import %s failed", pk)
        _fail(
            imp,
            f"The import stopped on an unexpected error ({exc.__class__.__name__}: {exc}). "
            "The rows before it are saved; you can resume it.",
        )
        raise
    return imp


def _fail(imp: Import, message: str) -> None:
    Import.objects.filter(pk=imp.pk).update(status=Import.Status.FAILED, error=message, finished_at=timezone.now())
    imp.status, imp.error = Import.Status.FAILED, message


def _run(imp: Import, progress) -> None:
    path = file_path(imp) if imp.file_name else None
    if path is None or not path.exists():
        raise FileProblem("The uploaded file is no longer there; upload it again.")
    job = Job(imp, imp.created_by)
    if imp.total_rows is None:
        total, order, warnings = prepass(imp, job, path)
        imp.warnings = imp.warnings + warnings
        Import.objects.filter(pk=imp.pk).update(total_rows=total, resolved_date_order=order, warnings=imp.warnings)
        imp.total_rows, imp.resolved_date_order = total, order
        job.order = order
    if progress:
        progress(imp)
    rows = Rows(path, imp.encoding, imp.delimiter)
    header, _ = rows.header()
    if len(header) != len(imp.mapping):
        raise FileProblem("The file's columns changed since it was mapped; upload it again.")
    context = _context(imp)
    for chunk in _in_background(_cleaned_chunks(rows, job, skip=imp.next_row)):
        commit_chunk(imp, job, chunk, context)
        if progress:
            progress(imp)
    finish(imp)
    if progress:
        progress(imp)


Cleaned = tuple[Record, dict, list[str]]  # a row, its parsed values, the problems found


def _cleaned_chunks(rows: Rows, job: Job, *, skip: int) -> Iterator[list[Cleaned]]:
    """Chunks of parsed rows after the first `skip` (those were committed before a crash or restart)."""
    chunk: list[Cleaned] = []
    index = 0
    for record in rows:
        index += 1
        if index <= skip:
            continue
        if record.problem:
            chunk.append((record, {}, [record.problem]))
        else:
            values, problems = job.clean(record.cells)
            chunk.append((record, values, problems))
        if len(chunk) >= CHUNK_SIZE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_DONE = object()


def _in_background(chunks: Iterator[list[Cleaned]]) -> Iterator[list[Cleaned]]:
    """Read and parse the next chunks in a thread while this one writes: the work overlaps database waits.

    The thread only reads the file and parses cells (no database access); at most two chunks wait in the queue.
    """
    queue: Queue = Queue(maxsize=2)
    stop = threading.Event()

    def produce():
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        queue.put(chunk, timeout=0.5)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(_DONE)
        except BaseException as exc:  # handed to the consuming thread, which raises it
            queue.put(exc)

    thread = threading.Thread(target=produce, name="import-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def _context(imp: Import) -> dict:
    if imp.object_type != ObjectType.DEAL:
        return {}
    from smarketing.accounts.models import User

    return {"stages": Stages(), "users": User.objects.in_bulk()}


def prepass(imp: Import, job: Job, path: Path) -> tuple[int, str, list[str]]:
    """Count the data rows (for the progress bar) and settle the day/month order of numeric dates."""
    date_columns = [index for index, target in job.columns if target.kind in DATE_KINDS]
    look = bool(date_columns) and imp.date_order == Import.DateOrder.AUTO
    seen = {"dmy": 0, "mdy": 0, "either": 0}
    count = 0
    for record in Rows(path, imp.encoding, imp.delimiter):
        count += 1
        if look and record.cells:
            for index in date_columns:
                evidence = date_order_evidence(record.cells[index]) if index < len(record.cells) else None
                if evidence:
                    seen[evidence] += 1
    warnings = []
    if imp.date_order != Import.DateOrder.AUTO:
        order = imp.date_order
    elif seen["dmy"] and seen["mdy"]:
        order = "dmy" if seen["dmy"] > seen["mdy"] else "mdy"
        warnings.append(
            f"Numeric dates are mixed: {seen['dmy']:,} can only be day/month and {seen['mdy']:,} only month/day. "
            f"They were read {'day' if order == 'dmy' else 'month'} first; rows whose dates do not fit are rejected."
        )
    elif seen["dmy"]:
        order = "dmy"
    elif seen["mdy"]:
        order = "mdy"
    else:
        order = "mdy"
        if seen["either"]:
            warnings.append(
                "Every numeric date in the file (like 03/01/2024) could be read either way; they were read "
                "month first (US). If they are day first, import again and choose “Day first”."
            )
    return count, order, warnings


def process(imp: Import, job: Job, chunk: list[Cleaned], context: dict) -> ChunkResult:
    """Decide and write one chunk; the caller holds the transaction."""
    result = ChunkResult()
    rows = []
    for record, values, problems in chunk:
        if record.padded:
            result.padded += 1
        if problems:
            result.reject(record, " ".join(problems))
        elif not values:
            result.reject(record, "None of the imported columns has a value in this row.")
        else:
            rows.append((record, values))
    writes = Writes()
    if imp.object_type == ObjectType.CONTACT:
        ContactPlanner(job, result, writes).run(rows)
    elif imp.object_type == ObjectType.COMPANY:
        CompanyPlanner(job, result, writes).run(rows)
    else:
        DealPlanner(job, result, writes, context["stages"], context["users"]).run(rows)
    outcomes = result.created + result.updated + result.unchanged + len(result.rejected)
    if outcomes != len(chunk):  # every row ends in exactly one outcome; anything else is a bug, stop loudly
        raise AssertionError(f"chunk of {len(chunk)} rows produced {outcomes} outcomes")
    return result


def commit_chunk(imp: Import, job: Job, chunk: list[Cleaned], context: dict) -> None:
    for attempt in range(1, RETRIES + 1):
        try:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    # The chunk's rows and the resume point commit together, so a commit lost in an operating
                    # system crash is simply redone on resume: no need to wait for the disk on every chunk.
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL synchronous_commit TO OFF")
                result = process(imp, job, chunk, context)
                RejectedRow.objects.bulk_create(
                    [
                        RejectedRow(
                            import_run=imp,
                            row_number=number,
                            reason=_storable(reason[:2000]),
                            cells=[_storable(cell[:1000]) for cell in cells],
                        )
                        for number, reason, cells in result.rejected
                    ]
                )
                # Conditional on the resume point we started from: if another worker took over (it thought we
                # were dead), this chunk rolls back instead of being counted twice.
                moved = Import.objects.filter(pk=imp.pk, status=Import.Status.RUNNING, next_row=imp.next_row).update(
                    next_row=imp.next_row + len(chunk),
                    created=F("created") + result.created,
                    updated=F("updated") + result.updated,
                    unchanged=F("unchanged") + result.unchanged,
                    rejected=F("rejected") + len(result.rejected),
                    padded=F("padded") + result.padded,
                    companies_created=F("companies_created") + result.companies_created,
                    heartbeat_at=timezone.now(),
                )
                if moved != 1:
                    raise ClaimLost()
            break
        except (IntegrityError, OperationalError):
            # A record created concurrently by someone else (unique email/domain) or a locked SQLite database:
            # the chunk rolled back completely; planning it again sees the new records.
            if attempt == RETRIES:
                raise
            time.sleep(0.2 * attempt)
    imp.next_row += len(chunk)
    imp.created += result.created
    imp.updated += result.updated
    imp.unchanged += result.unchanged
    imp.rejected += len(result.rejected)
    imp.padded += result.padded
    imp.companies_created += result.companies_created


def _storable(text: str) -> str:
    """PostgreSQL text and JSON cannot hold NUL characters; the error file shows them as U+FFFD."""
    return text.replace("\x00", "\ufffd")


def finish(imp: Import) -> None:
    now = timezone.now()
    Import.objects.filter(pk=imp.pk).update(status=Import.Status.DONE, finished_at=now, heartbeat_at=now)
    imp.status, imp.finished_at = Import.Status.DONE, now
    record_audit(
        actor=imp.created_by,
        action="import_done",
        obj=imp,
        origin=Origin.IMPORT,
        changes={
            name: (None, getattr(imp, name))
            for name in ("total_rows", "created", "updated", "unchanged", "rejected", "companies_created")
        },
    )
    delete_file(imp)
