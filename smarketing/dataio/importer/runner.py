"""Running an import: claim it, count its rows, then process chunks of rows, each in one transaction.

Crash safety: a chunk's records, its rejected rows, the totals and the resume point (Import.next_row) commit
together. A crash loses at most the chunk in flight, and running the import again (Resume, or the worker picking
it up after its heartbeat went stale) starts at next_row: nothing is imported twice, nothing is skipped.
"""

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.core.audit import jsonable, record_audit
from smarketing.core.models import Origin
from smarketing.core.threads import in_background
from smarketing.crm.models import ObjectType
from smarketing.dataio.csvfile import FileProblem, Record, Rows
from smarketing.dataio.importer import liveness
from smarketing.dataio.importer.context import UNKNOWN_SOURCE, WARNINGS, ChunkResult, Job, Writes, identities
from smarketing.dataio.importer.deals import DealPlanner, Stages
from smarketing.dataio.importer.records import CompanyPlanner, ContactPlanner
from smarketing.dataio.models import Import, RejectedRow, ReportedRow
from smarketing.dataio.values import date_order_evidence

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1000
RETRIES = 3
COMPANY_LOCK = 0x5D17_0001  # pg_advisory_xact_lock key: creating companies for contact rows
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


def interrupted(imps) -> set[int]:
    """The ids of these imports that say "running" although no living process runs them (it was killed)."""
    running = [imp.pk for imp in imps if imp.status == Import.Status.RUNNING]
    return set(running) - liveness.alive(running)


def resumable(imp: Import, *, is_interrupted: bool | None = None) -> bool:
    if not imp.file_name:
        return False
    if imp.status == Import.Status.FAILED:
        return True
    if is_interrupted is None:
        is_interrupted = imp.pk in interrupted([imp])
    return imp.status == Import.Status.RUNNING and is_interrupted


def claim(pk: int) -> bool:
    """Take a queued import, or a running one whose process died (conditional UPDATE; hold its RunLock first)."""
    now = timezone.now()
    return (
        Import.objects.filter(pk=pk, status__in=[Import.Status.QUEUED, Import.Status.RUNNING]).update(
            status=Import.Status.RUNNING,
            heartbeat_at=now,
            started_at=now,
            error="",
            runner=liveness.describe_process(),
        )
        == 1
    )


@contextmanager
def _quiet_gc():
    """Fewer garbage collections while rows stream through.

    An import allocates millions of short-lived dicts and tuples; with the default thresholds the collector runs
    thousands of times and each full pass walks every object of the process (Django's included). Objects that
    exist before the import are frozen out of those passes, and the young generation is allowed to grow.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def run(
    pk: int,
    *,
    progress: Callable[[Import], None] | None = None,
    on_start: Callable[[Import], None] | None = None,
    lock_wait: float = 0,
) -> Import:
    """Run (or continue) import `pk` in this process; returns it with its final totals.

    While another living process runs it, returns it untouched (status "running"). `on_start` is called once
    this process has taken the import, before the first row. `lock_wait`: seconds to keep asking for the lock
    (a process killed a moment ago may take that long to lose its database session).
    """
    lock = liveness.RunLock.acquire(pk, wait=lock_wait)
    if lock is None:
        return Import.objects.get(pk=pk)
    try:
        # Holding the lock, a "running" import is one whose process died: it is ours to continue.
        if not claim(pk):
            return Import.objects.get(pk=pk)
        imp = Import.objects.select_related("created_by").get(pk=pk)
        if on_start:
            on_start(imp)
        try:
            with _quiet_gc():
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
    finally:
        lock.release()


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
    # Read and parse the next chunks in a thread while this one writes (no database access in the thread).
    # On a resume, the rows before the resume point that were imported still count for duplicates (rows they
    # rejected do not); read here, because the reader thread does not touch the database.
    earlier_rejected = None
    if imp.next_row and imp.object_type != ObjectType.DEAL:
        earlier_rejected = set(RejectedRow.objects.filter(import_run=imp).values_list("row_number", flat=True))
    chunks = in_background(
        _cleaned_chunks(rows, job, skip=imp.next_row, earlier_rejected=earlier_rejected), name="import-reader"
    )
    if _can_pipeline(imp):
        while True:
            leftover = Pipeline(imp, job, context, progress).run(chunks)
            if not leftover:
                break
            for chunk in leftover:  # after a conflict: the chunks that were in flight, one at a time
                commit_chunk(imp, job, chunk, context)
    else:
        for chunk in chunks:
            commit_chunk(imp, job, chunk, context)
            if progress:
                progress(imp)
    finish(imp)
    if progress:
        progress(imp)


Cleaned = tuple[Record, dict, list[str]]  # a row, its parsed values, the problems found


def _cleaned_chunks(rows: Rows, job: Job, *, skip: int, earlier_rejected: set | None = None) -> Iterator[list[Cleaned]]:
    """Chunks of parsed rows after the first `skip` (those were committed before a crash or restart).

    With `earlier_rejected` (a resume of contacts or companies), the skipped rows that were imported are parsed
    once more, only to remember their identities, so a later duplicate of one is still reported as such.
    """
    chunk: list[Cleaned] = []
    index = 0
    for record in rows:
        index += 1
        if index <= skip:
            if (
                earlier_rejected is not None
                and not record.problem
                and record.row_number not in earlier_rejected
                and len(job.seen) < job.SEEN_LIMIT
            ):
                values, _ = job.clean(record.cells)
                for identity in identities(job.object_type, values):
                    job.seen.setdefault(identity, record.row_number)
            continue
        if record.problem:
            chunk.append((record, {}, [record.problem]))
        else:
            values, problems = job.clean(record.cells)
            # Notes about the row, not fields: kept on the record so a chunk done again still has them.
            record.warnings = values.pop(WARNINGS, None)
            record.unknown_source = values.pop(UNKNOWN_SOURCE, "")
            chunk.append((record, values, problems))
        if len(chunk) >= CHUNK_SIZE:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _context(imp: Import) -> dict:
    if imp.object_type != ObjectType.DEAL:
        return {}
    from smarketing.accounts.models import User

    return {"stages": Stages(), "users": User.objects.in_bulk()}


def prepass(imp: Import, job: Job, path: Path) -> tuple[int, str, list[str]]:
    """Count the data rows (for the progress bar) and settle the day/month order of numeric dates."""
    date_columns = [index for index, target in job.columns if target.kind in DATE_KINDS]
    look = bool(date_columns) and imp.date_order == Import.DateOrder.AUTO
    evidence_of = date_order_evidence
    seen = {"dmy": 0, "mdy": 0, "either": 0}
    count = 0
    for record in Rows(path, imp.encoding, imp.delimiter, check=False):
        count += 1
        if look and record.cells:
            for index in date_columns:
                evidence = evidence_of(record.cells[index]) if index < len(record.cells) else None
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


def split(chunk: list[Cleaned]) -> tuple[ChunkResult, list]:
    """Rows rejected while reading or parsing get their outcome here; the rest go on to be written."""
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
            if record.warnings:
                result.warnings[record.row_number] = record.warnings
            if record.unknown_source:
                unknown = record.unknown_source
                result.unknown_sources[unknown] = result.unknown_sources.get(unknown, 0) + 1
    return result, rows


def _fast_commit() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # A chunk's rows and the resume point commit together, so a commit lost in an operating system crash
            # is simply redone on resume: no need to wait for the disk on every chunk.
            # A chunk stuck behind someone's lock for 30 s gives up and is done again (OperationalError).
            cursor.execute("SET LOCAL synchronous_commit TO OFF; SET LOCAL lock_timeout TO '30s'")


def company_phase(imp: Import, job: Job, rows: list):
    """Contacts: create the companies the rows name, committed before the chunk (see resolve_companies)."""
    if imp.object_type != ObjectType.CONTACT:
        return None
    result, writes = ChunkResult(), Writes()
    with transaction.atomic():
        _fast_commit()
        if connection.vendor == "postgresql" and {"company_name", "company_domain"} & job.mapped:
            # Imports running at the same time must not both create a company that only has a name.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [COMPANY_LOCK])
        resolver = ContactPlanner.resolve_companies(job, rows, result, writes)
        if result.companies_created:
            Import.objects.filter(pk=imp.pk).update(companies_created=F("companies_created") + result.companies_created)
    return resolver, result.companies_created


def write_chunk(
    imp: Import,
    job: Job,
    chunk: list[Cleaned],
    result: ChunkResult,
    rows: list,
    context: dict,
    companies,
    start: int,
    *,
    on_locked=None,
    before_commit=None,
) -> None:
    """Decide and write one chunk and move the resume point; the caller holds the transaction.

    `on_locked` runs once the chunk's existing records are locked; `before_commit` just before the resume point
    moves (the pipeline uses both to keep chunks in file order).
    """
    writes = Writes()
    if imp.object_type == ObjectType.CONTACT:
        ContactPlanner(job, result, writes).run(rows, companies, on_locked)
    elif imp.object_type == ObjectType.COMPANY:
        CompanyPlanner(job, result, writes).run(rows, on_locked)
    else:
        DealPlanner(job, result, writes, context["stages"], context["users"]).run(rows)
    outcomes = result.created + result.updated + result.unchanged + len(result.rejected)
    if outcomes != len(chunk):  # every row ends in exactly one outcome; anything else is a bug, stop loudly
        raise AssertionError(f"chunk of {len(chunk)} rows produced {outcomes} outcomes")
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
    ReportedRow.objects.bulk_create(_reported_rows(imp, job, result))
    if before_commit is not None:
        before_commit()
    # The earlier chunks have committed (before_commit waited for them), so imp holds their sources.
    unknown_sources = _merge_counts(imp.unknown_sources, result.unknown_sources)
    # Conditional on the resume point this chunk starts at: if another worker took the import over (it thought
    # we were dead), or an earlier chunk did not commit, this chunk rolls back instead of being counted twice.
    moved = Import.objects.filter(pk=imp.pk, status=Import.Status.RUNNING, next_row=start).update(
        next_row=start + len(chunk),
        created=F("created") + result.created,
        updated=F("updated") + result.updated,
        unchanged=F("unchanged") + result.unchanged,
        rejected=F("rejected") + len(result.rejected),
        warned=F("warned") + result.warned,
        unknown_sources=unknown_sources,
        padded=F("padded") + result.padded,
        companies_created=F("companies_created") + result.companies_created,
        heartbeat_at=timezone.now(),
    )
    if moved != 1:
        raise ClaimLost()


MAX_UNKNOWN_SOURCES = 50  # distinct unknown source values an import remembers (a file could have thousands)


def _merge_counts(total: dict, more: dict) -> dict:
    merged = dict(total)
    for value, rows in more.items():
        if value in merged or len(merged) < MAX_UNKNOWN_SOURCES:
            merged[value] = merged.get(value, 0) + rows
    return merged


def _label(state: dict) -> str:
    return (state.get("email") or state.get("name") or state.get("domain") or "")[:255]


def _stored(value):
    if isinstance(value, dict) and "name_key" in value:  # a company the chunk created: its id by now
        return value["id"]
    return jsonable(value)


def _reported_rows(imp: Import, job: Job, result: ChunkResult) -> list[ReportedRow]:
    """The chunk's rows worth a line on the result page, now that new records have their ids."""
    rows = []
    for number, outcome, state, changes in result.outcomes:
        stored = {}
        for name, (before, after) in changes.items():
            if name == "custom":  # one entry per property that changed, not the whole JSON
                for prop in sorted(set(before or {}) | set(after or {})):
                    if (before or {}).get(prop) != (after or {}).get(prop):
                        stored[f"custom:{prop}"] = [jsonable((before or {}).get(prop)), jsonable(after.get(prop))]
            else:
                stored[name] = [_stored(before), _stored(after)]
        rows.append(
            ReportedRow(
                import_run=imp,
                row_number=number,
                outcome=outcome,
                object_id=state.get("id"),
                label=_storable(_label(state)),
                changes=stored,
                warnings=result.warnings.get(number, []),
            )
        )
    return rows


def _absorb(imp: Import, job: Job, chunk: list[Cleaned], result: ChunkResult, companies_created: int) -> None:
    job.remember(result)
    imp.unknown_sources = _merge_counts(imp.unknown_sources, result.unknown_sources)
    imp.warned += result.warned
    imp.next_row += len(chunk)
    imp.created += result.created
    imp.updated += result.updated
    imp.unchanged += result.unchanged
    imp.rejected += len(result.rejected)
    imp.padded += result.padded
    imp.companies_created += result.companies_created + companies_created


def commit_chunk(imp: Import, job: Job, chunk: list[Cleaned], context: dict) -> None:
    """Process one chunk on this thread's connection, retrying it after a conflict."""
    created_companies = 0
    for attempt in range(1, RETRIES + 1):
        try:
            result, rows = split(chunk)
            companies, made = company_phase(imp, job, rows) or (None, 0)
            created_companies += made
            with transaction.atomic():
                _fast_commit()
                write_chunk(imp, job, chunk, result, rows, context, companies, imp.next_row)
            break
        except (IntegrityError, OperationalError):
            # A record created concurrently by someone else (unique email/domain), a company deleted while we
            # remembered it, or a locked SQLite database: the chunk rolled back completely; planning it again
            # (with the company cache emptied) sees the database as it is now.
            job.companies.clear()
            if attempt == RETRIES:
                raise
            time.sleep(0.2 * attempt)
    _absorb(imp, job, chunk, result, created_companies)


# ---------------------------------------------------------------------------------------------------------
# Two chunks at a time (PostgreSQL)

PIPELINE_WRITERS = 2
COMMIT_WAIT = 20  # seconds a chunk waits, holding its locks, for the previous chunk to commit


def _can_pipeline(imp: Import) -> bool:
    """Two connections only help on PostgreSQL, and only outside a transaction (a dry run or a test holds one)."""
    return (
        PIPELINE_WRITERS > 1
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and imp.object_type in (ObjectType.CONTACT, ObjectType.COMPANY)
    )


def chunk_keys(imp: Import, chunk: list[Cleaned]) -> set:
    """The identities a chunk may create or lock; two chunks sharing one never run at the same time."""
    keys = set()
    for _record, values, problems in chunk:
        if problems:
            continue
        for name in ("email", "external_id", "domain"):
            if values.get(name):
                keys.add((name, values[name]))
        if imp.object_type == ObjectType.COMPANY and values.get("name"):
            keys.add(("name", values["name"].strip().lower()))
    return keys


class _Stop(Exception):
    """Another chunk failed; this one rolls back and is redone after it."""


class Pipeline:
    """Two chunks in flight on two database connections; chunks still lock, and commit, in file order.

    On a single connection the database and Python take turns: while PostgreSQL checks foreign keys and
    updates indexes for one chunk, nothing else happens. Here chunk k+1 is read, looked up and written while
    chunk k commits. Safety rests on three rules:
    - chunk k+1 takes its row locks only after chunk k holds all of its own, so a lock wait always points
      from a later chunk to an earlier one and never forms a cycle;
    - chunks whose rows share an email, external id or domain do not overlap at all (the later one waits for
      the earlier commit), so neither can insert a duplicate the other cannot see yet; companies that contact
      rows name are created before the chunk, in a transaction of their own (company_phase);
    - the resume point only moves from chunk k's start to its end (a conditional UPDATE), so chunk k+1 cannot
      commit before chunk k, even if this process were confused.
    After any failure every chunk in flight rolls back, and the caller redoes them one at a time.
    """

    def __init__(self, imp: Import, job: Job, context: dict, progress):
        self.imp, self.job, self.context, self.progress = imp, job, context, progress
        self.cond = threading.Condition()
        self.take = threading.Lock()
        self.locked = -1  # highest chunk index whose rows are locked
        self.committed = -1  # highest chunk index committed
        self.failed = False
        self.error: BaseException | None = None
        self.keys: dict[int, set] = {}
        self.leftover: dict[int, list[Cleaned]] = {}
        self.index = 0
        self.start = imp.next_row

    def run(self, source: Iterator[list[Cleaned]]) -> list[list[Cleaned]]:
        """Process chunks from `source` until it is empty or something fails; returns chunks still to do."""
        self.source = source
        threads = [threading.Thread(target=self.worker, name=f"import-writer-{n}") for n in range(PIPELINE_WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self.error is not None:
            raise self.error
        return [self.leftover[k] for k in sorted(self.leftover)]

    def worker(self) -> None:
        try:
            while True:
                with self.take:
                    if self.failed:
                        return
                    chunk = next(self.source, None)
                    if chunk is None:
                        return
                    k, start = self.index, self.start
                    self.index += 1
                    self.start += len(chunk)
                    self.keys[k] = chunk_keys(self.imp, chunk)
                self.chunk(k, start, chunk)
        finally:
            connection.close()

    def _wait(self, predicate, timeout: float | None = None) -> None:
        with self.cond:
            done = self.cond.wait_for(lambda: self.failed or predicate(), timeout=timeout)
            if not done:
                # Waiting for the previous chunk while holding row locks: if that chunk is itself stuck behind
                # a lock (someone else's transaction waiting on ours), only our rolling back unties it.
                self.failed = True
                self.cond.notify_all()
            if self.failed:
                raise _Stop()

    def _fail(self, k: int, chunk, error: BaseException | None = None) -> None:
        with self.cond:
            self.failed = True
            self.leftover[k] = chunk
            if error is not None and self.error is None:
                self.error = error
            self.cond.notify_all()

    def chunk(self, k: int, start: int, chunk: list[Cleaned]) -> None:
        def may_start():
            # Earlier chunks still in flight must hold their locks already and share no identity with this one.
            return self.locked >= k - 1 and not any(self.keys[k] & self.keys[j] for j in range(self.committed + 1, k))

        def mark_locked():
            with self.cond:
                self.locked = max(self.locked, k)
                self.cond.notify_all()

        try:
            self._wait(may_start)
            result, rows = split(chunk)
            companies, made = company_phase(self.imp, self.job, rows) or (None, 0)
            with transaction.atomic():
                _fast_commit()
                write_chunk(
                    self.imp,
                    self.job,
                    chunk,
                    result,
                    rows,
                    self.context,
                    companies,
                    start,
                    on_locked=mark_locked,
                    before_commit=lambda: self._wait(lambda: self.committed >= k - 1, COMMIT_WAIT),
                )
        except _Stop:
            with self.cond:
                self.leftover[k] = chunk
            return
        except (IntegrityError, OperationalError):
            self.job.companies.clear()
            self._fail(k, chunk)  # redone one at a time by the caller, with its retries
            return
        except BaseException as exc:
            self._fail(k, chunk, exc)
            return
        finally:
            mark_locked()  # whatever happened, later chunks must not wait for this one's locks
        with self.cond:
            _absorb(self.imp, self.job, chunk, result, made)
            self.committed = k
            self.keys.pop(k, None)  # no later chunk compares against a committed one
            self.cond.notify_all()
        if self.progress:
            self.progress(self.imp)


def _storable(text: str) -> str:
    """PostgreSQL text and JSON cannot hold NUL characters; the error file shows them as U+FFFD."""
    return text.replace("\x00", "\ufffd")


def finish(imp: Import) -> None:
    now = timezone.now()
    Import.objects.filter(pk=imp.pk).update(status=Import.Status.DONE, finished_at=now, heartbeat_at=now)
    imp.status, imp.finished_at = Import.Status.DONE, now
    record_audit(
        actor=imp.created_by or system_actor(Origin.IMPORT),
        action="import_done",
        obj=imp,
        origin=Origin.IMPORT,
        changes={
            name: (None, getattr(imp, name))
            for name in ("total_rows", "created", "updated", "unchanged", "rejected", "warned", "companies_created")
        },
    )
    delete_file(imp)
    liveness.forget(imp.pk)
