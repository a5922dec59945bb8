"""Outbox consumers for the tests. Each handled event leaves an AuditEntry (action "consumed", object_type the
consumer's name, object_id the event id), written in the consumer's transaction like any real handler's writes.

Importing this module registers nothing; worker processes preload `outbox_worker_consumers`, which does.
"""

import time
from contextlib import contextmanager

from smarketing.core.models import AuditEntry
from smarketing.jobs import outbox


def recorder(name: str, *, pause: float = 0.0, poison: str = "poison"):
    """A handler that records each event; sleeps `pause` per batch; fails on events whose payload names `poison`."""

    def handle(events) -> int:
        if pause:
            time.sleep(pause)
        if any(e.payload.get(poison) for e in events):
            raise ValueError(f"cannot digest event {[e.id for e in events if e.payload.get(poison)][0]}")
        AuditEntry.objects.bulk_create(
            [AuditEntry(action="consumed", object_type=name, object_id=str(e.id)) for e in events]
        )
        return len(events)

    return handle


def consumed(name: str) -> list[int]:
    """Event ids consumer `name` handled, one per handling (a duplicate shows twice)."""
    ids = AuditEntry.objects.filter(action="consumed", object_type=name).values_list("object_id", flat=True)
    return sorted(int(i) for i in ids)


@contextmanager
def registered(name: str, handler=None, **options):
    """A consumer registered for the duration of a test."""
    consumer = outbox.register_consumer(name, handler or recorder(name), **options)
    try:
        yield consumer
    finally:
        outbox.unregister_consumer(name)
