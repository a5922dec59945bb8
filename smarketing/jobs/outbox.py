"""The multi-consumer outbox: each consumer reads core.Event at its own pace and handles each event once.

    # in the owning app's AppConfig.ready()
    from smarketing.jobs.outbox import register_consumer

    register_consumer("scoring", score_events, batch_size=200)   # handler(events: list[Event]) -> int | None

How it works:

- Order. Transactions commit out of id order, so consumers do not page on id. The sequencer
  (`sequence_events`) gives committed events a `seq`, one run at a time (a PostgreSQL advisory lock; SQLite
  serializes writers anyway), in one set-based UPDATE numbering them after the highest seq so far. An event whose
  transaction commits late is numbered late, above everything consumers have read: `seq > cursor` never skips.
- Exactly once per consumer. One OutboxCursor row per consumer. A run locks the row, reads the next batch in seq
  order, calls the handler and moves the cursor, all in one transaction: the handler's writes commit with the
  cursor move or not at all, so a crash replays the batch and nothing is handled twice. A second run of the same
  consumer skips a locked cursor (SKIP LOCKED) instead of waiting, so it never ties up a worker.
- Independence. Each consumer has its own cursor and runs as its own job (`jobs.tasks.run_outbox_consumer`), so
  a slow one never holds back another.
- Poison. When the batch fails, its events are handled one by one, each under a savepoint; an event that still
  fails gets an OutboxDeadLetter (error kept, shown on the job list, retryable) and the cursor moves past it.
  Database outages (OperationalError, InterfaceError) are not poison: they fail the run, which replays later.
- Wake-up. After a commit that published events, each consumer gets a run enqueued (debounced to one per
  WAKE_DEBOUNCE per process); a periodic sweep catches whatever that missed.
- Pruning. Events are deleted once every registered consumer is past them, they are older than
  settings.OUTBOX_RETENTION_DAYS and no row refers to them (a webhook delivery still in its log, a dead letter).
"""

import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, F, Max, Min, OuterRef
from django.utils import timezone

from smarketing.core.models import Event
from smarketing.jobs.models import OutboxCursor, OutboxDeadLetter

logger = logging.getLogger(__name__)

SEQUENCE_BATCH = 10_000  # events numbered per sequencer transaction (keeps each one short)
WAKE_DEBOUNCE = timedelta(seconds=1)
BUSY_RETRY = timedelta(seconds=5)
PRUNE_BATCH = 1000
# Any constant that is unique to the sequencer among advisory locks (ascii "smkseq").
SEQUENCER_LOCK = 0x736D6B736571
TRANSIENT = (OperationalError, InterfaceError)
START_POSITIONS = ("beginning", "now")


@dataclass(frozen=True)
class Consumer:
    """A registered outbox consumer: its handler and how it starts."""

    name: str
    handler: Callable[[list[Event]], int | None]
    batch_size: int = 500
    # Where a new cursor starts: "now" after the newest event when it is created (at the first migrate that sees
    # the consumer, or its first run), "beginning" before the oldest event kept.
    start: str = "now"
    # Optional: when it returns False, commits do not enqueue a run (the periodic sweep still moves the cursor).
    wanted: Callable[[], bool] | None = None


_consumers: dict[str, Consumer] = {}


def register_consumer(
    name: str,
    handler: Callable[[list[Event]], int | None],
    *,
    batch_size: int = 500,
    start: str = "now",
    wanted: Callable[[], bool] | None = None,
) -> Consumer:
    """Register an outbox consumer. The handler gets a list of events in seq order, inside the run's transaction;
    it returns what it produced (a count, for logs) or None. It must not do slow I/O: enqueue jobs on commit."""
    if start not in START_POSITIONS:
        raise ValueError(f"start must be one of {START_POSITIONS}")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    consumer = Consumer(name=name, handler=handler, batch_size=batch_size, start=start, wanted=wanted)
    _consumers[name] = consumer
    return consumer


def unregister_consumer(name: str) -> None:
    """Forget a consumer (tests). Its cursor row stays; an unregistered cursor does not hold back pruning."""
    _consumers.pop(name, None)
    _pending_until.pop(name, None)


def consumers() -> dict[str, Consumer]:
    return dict(_consumers)


# -- the sequencer -----------------------------------------------------------------------------------------------
def _sequence_sql() -> str:
    table = connection.ops.quote_name(Event._meta.db_table)
    # ROW_NUMBER over the unnumbered rows in id order, above the highest seq: one statement, no per-row round trip.
    # Only committed rows are visible to it (READ COMMITTED), which is the whole point.
    return f"""
        UPDATE {table} SET seq = numbered.base + numbered.rn
        FROM (
            SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn,
                   (SELECT COALESCE(MAX(seq), 0) FROM {table}) AS base
            FROM {table} WHERE seq IS NULL ORDER BY id LIMIT %s
        ) AS numbered
        WHERE {table}.id = numbered.id
    """


def sequence_events() -> int:
    """Number every committed, unnumbered event; returns how many. Safe from any number of processes."""
    total = 0
    sql = _sequence_sql()
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # One sequencer at a time: two concurrent runs would read the same MAX(seq). The lock is released
                # at commit, after the commit is visible, so the next run's MAX(seq) includes these numbers.
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEQUENCER_LOCK])
            cursor.execute(sql, [SEQUENCE_BATCH])
            numbered = cursor.rowcount
        total += numbered
        if numbered < SEQUENCE_BATCH:
            return total


def newest_seq() -> int:
    return Event.objects.aggregate(s=Max("seq"))["s"] or 0


# -- running a consumer ------------------------------------------------------------------------------------------
@dataclass
class ConsumerRun:
    """What one run of a consumer did."""

    name: str
    handled: int = 0  # events read and passed on (including dead ones)
    produced: int = 0  # the sum of what the handler returned
    dead: int = 0  # events set aside as dead letters
    busy: bool = False  # another process holds the cursor: this run did nothing
    errors: list[str] = field(default_factory=list)


def ensure_cursor(consumer: Consumer) -> OutboxCursor:
    """The consumer's cursor, created at its start position the first time."""
    cursor = OutboxCursor.objects.filter(name=consumer.name).first()
    if cursor is not None:
        return cursor
    position = 0
    if consumer.start == "now":
        sequence_events()
        position = newest_seq()
    # Two processes may create it at once: the unique name makes the second a no-op, and both read the winner.
    OutboxCursor.objects.bulk_create([OutboxCursor(name=consumer.name, position=position)], ignore_conflicts=True)
    return OutboxCursor.objects.get(name=consumer.name)


def ensure_cursors(**signal_kwargs) -> None:
    """Create the cursor of every registered consumer that has none (after migrate, and before pruning)."""
    using = signal_kwargs.get("using")
    if using is not None and using != "default":
        return
    for consumer in _consumers.values():
        ensure_cursor(consumer)


def _lock_cursor(name: str, wait: bool) -> OutboxCursor | None:
    qs = OutboxCursor.objects.filter(name=name)
    if not wait and connection.features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True).first()
    # SQLite has no row locks; its IMMEDIATE transactions (settings) run one writer at a time instead.
    return qs.select_for_update().first()


def _as_count(result) -> int:
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


def _handle(consumer: Consumer, batch: list[Event], run: ConsumerRun) -> None:
    """Pass the batch to the handler; if it fails, retry event by event and set the failing ones aside."""
    try:
        with transaction.atomic():  # a savepoint: a failure undoes only the handler's writes
            run.produced += _as_count(consumer.handler(batch))
        return
    except TRANSIENT:
        raise
    except Exception:
        if len(batch) == 1:
            _dead_letter(consumer, batch[0], run)
            return
        logger.warning("outbox consumer %s failed on a batch; handling it event by event", consumer.name)
    for event in batch:
        try:
            with transaction.atomic():
                run.produced += _as_count(consumer.handler([event]))
        except TRANSIENT:
            raise
        except Exception:
            _dead_letter(consumer, event, run)


def _dead_letter(consumer: Consumer, event: Event, run: ConsumerRun) -> None:
    error = traceback.format_exc(limit=20)
    logger.error("outbox consumer %s set event %s (%s) aside:\n%s", consumer.name, event.id, event.name, error)
    OutboxDeadLetter.objects.update_or_create(
        consumer=consumer.name,
        event=event,
        defaults={"error": error, "updated_at": timezone.now()},
    )
    run.dead += 1
    run.errors.append(error.strip().splitlines()[-1])


def run_consumer(
    name: str, *, batch_size: int | None = None, wait: bool = False, max_batches: int | None = None
) -> ConsumerRun:
    """Handle every event the consumer has not handled yet, batch by batch (one transaction each).

    With wait=False (jobs) a run that finds the cursor locked by another process returns at once (busy); with
    wait=True it waits for that lock, so that every event committed before the call is handled on return.
    max_batches stops after that many batches even when more events wait.
    """
    consumer = _consumers[name]
    size = batch_size or consumer.batch_size
    run = ConsumerRun(name=name)
    ensure_cursor(consumer)
    sequence_events()
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        with transaction.atomic():
            cursor = _lock_cursor(name, wait)
            if cursor is None:
                run.busy = True
                return run
            batch = list(Event.objects.filter(seq__gt=cursor.position).order_by("seq")[:size])
            if batch:
                _handle_and_advance(consumer, cursor, batch, run)
        run.handled += len(batch)
        # A short batch means caught up, unless events committed meanwhile: number them and go on if any. (Not
        # numbering before every batch: each sequencer run costs a transaction, even with nothing to number.)
        if len(batch) < size and not sequence_events():
            return run
    return run


def _handle_and_advance(consumer: Consumer, cursor: OutboxCursor, batch: list[Event], run: ConsumerRun) -> None:
    dead_before = run.dead
    _handle(consumer, batch, run)
    updates = {"position": batch[-1].seq, "handled": F("handled") + len(batch), "updated_at": timezone.now()}
    if run.dead > dead_before:
        updates["dead"] = F("dead") + (run.dead - dead_before)
        updates["last_error"] = run.errors[-1][:2000]
    OutboxCursor.objects.filter(pk=cursor.pk).update(**updates)


def lag(name: str) -> int:
    """Numbered events the consumer has not handled yet (read without locking)."""
    position = OutboxCursor.objects.filter(name=name).values_list("position", flat=True).first() or 0
    return max(newest_seq() - position, 0)


def retry_dead_letter(letter_id: int) -> bool:
    """Run the handler again on a dead letter's event; True (and the letter is gone) when it succeeds."""
    with transaction.atomic():
        letter = OutboxDeadLetter.objects.select_for_update().select_related("event").filter(id=letter_id).first()
        if letter is None:
            return False
        consumer = _consumers.get(letter.consumer)
        if consumer is None:
            raise LookupError(f"no consumer {letter.consumer!r} is registered")
        try:
            with transaction.atomic():
                consumer.handler([letter.event])
        except TRANSIENT:
            raise
        except Exception:
            OutboxDeadLetter.objects.filter(id=letter.id).update(
                error=traceback.format_exc(limit=20), attempts=F("attempts") + 1, updated_at=timezone.now()
            )
            return False
        letter.delete()
        OutboxCursor.objects.filter(name=letter.consumer, dead__gt=0).update(dead=F("dead") - 1)
        return True


# -- waking consumers after commits ------------------------------------------------------------------------------
_wake_lock = threading.Lock()
_pending_until: dict[str, datetime] = {}


def enqueue_run(name: str, run_after: datetime | None = None) -> None:
    from smarketing.jobs.tasks import run_outbox_consumer

    task = run_outbox_consumer.using(run_after=run_after) if run_after else run_outbox_consumer
    task.enqueue(name)


def wake_consumers() -> None:
    """Runs after commits that published events: enqueue a run of each consumer, at most one per WAKE_DEBOUNCE.

    The run is enqueued for WAKE_DEBOUNCE from now; any event committed before then is seen by it, so later commits
    in that window need no run of their own. A bulk import thus costs each consumer one run a second, not one per
    row. Never raises: this runs after the caller's commit, where an error would only confuse the caller.
    """
    now = timezone.now()
    for name, consumer in list(_consumers.items()):
        try:
            with _wake_lock:
                until = _pending_until.get(name)
                if until is not None and now < until:
                    continue
                if consumer.wanted is not None and not consumer.wanted():
                    continue
                _pending_until[name] = until = now + WAKE_DEBOUNCE
            enqueue_run(name, run_after=until)
        except Exception:  # the periodic sweep runs what this missed
            logger.exception("could not enqueue outbox consumer %s", name)


def sweep() -> list[str]:
    """Enqueue a run of every consumer that is behind; returns their names (the periodic safety net)."""
    sequence_events()
    ensure_cursors()
    newest = newest_seq()
    positions = dict(OutboxCursor.objects.filter(name__in=_consumers).values_list("name", "position"))
    behind = [name for name in _consumers if positions.get(name, 0) < newest]
    for name in behind:
        enqueue_run(name)
    return behind


# -- pruning -----------------------------------------------------------------------------------------------------
def _unreferenced(qs):
    """Events no row refers to: a foreign key to Event (a delivery log, a dead letter) keeps its event."""
    # include_hidden: the references declared with related_name="+" (deliveries, dead letters) count too.
    relations = [f for f in Event._meta.get_fields(include_hidden=True) if f.auto_created and not f.concrete]
    for rel in relations:
        if rel.many_to_many:
            continue
        refs = rel.related_model._base_manager.filter(**{rel.field.name: OuterRef("pk")})
        qs = qs.filter(~Exists(refs))
    return qs


def prune_events(now: datetime | None = None, retention: timedelta | None = None) -> int:
    """Delete events every registered consumer is past, older than `retention` (OUTBOX_RETENTION_DAYS by default)
    and unreferenced; returns how many."""
    if retention is None:
        retention = timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    ensure_cursors()
    newest = newest_seq()
    floor = OutboxCursor.objects.filter(name__in=_consumers).aggregate(p=Min("position"))["p"]
    floor = newest if floor is None else floor
    # The newest numbered event always stays: the sequencer numbers after MAX(seq), which must never go back.
    floor = min(floor, newest - 1)
    cutoff = (now or timezone.now()) - retention
    old = _unreferenced(Event.objects.filter(seq__lte=floor, occurred_at__lt=cutoff))
    deleted = 0
    while ids := list(old.order_by("seq").values_list("id", flat=True)[:PRUNE_BATCH]):
        deleted += _unreferenced(Event.objects.filter(id__in=ids)).delete()[0]
    return deleted
