"""Benchmark: outbox events fanned out to three consumers, beside a plain INSERT ... SELECT copy of the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/outbox .venv/bin/python bench/outbox_bench.py --events 100000

Writes N events into core_event (unnumbered, as the services and the importer leave them), then:
- baseline: three `INSERT INTO sink_k SELECT id, name, payload FROM core_event ...`, one per consumer: the least the
  database must do to hand every event to three places;
- outbox: three consumers registered with jobs.outbox, each copying the events it is handed into its own sink
  table (one INSERT ... SELECT of the batch's ids per batch); the time includes numbering the events (the
  sequencer) and every consumer reading its batches into Python, locking and moving its cursor.
Prints events/s of each and the ratio. The bench's events, cursors and sink tables are removed afterwards; other
rows of the database are left alone.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")

CONSUMERS = ["bench.a", "bench.b", "bench.c"]
EVENT_NAME = "contact.updated"
OBJECT_TYPE = "bench.contact"  # marks the bench's rows for the clean-up


def sink(name: str) -> str:
    return "bench_outbox_sink_" + name.rsplit(".", 1)[-1]


def json_type(connection) -> str:
    return "jsonb" if connection.vendor == "postgresql" else "text"


def create_sinks(connection) -> None:
    with connection.cursor() as cursor:
        for name in CONSUMERS:
            cursor.execute(f"DROP TABLE IF EXISTS {sink(name)}")
            cursor.execute(f"CREATE TABLE {sink(name)} (event_id bigint, name text, payload {json_type(connection)})")


def drop_sinks(connection) -> None:
    with connection.cursor() as cursor:
        for name in CONSUMERS:
            cursor.execute(f"DROP TABLE IF EXISTS {sink(name)}")


def write_events(count: int) -> tuple[int, int]:
    """N unnumbered events; returns their (first id, last id)."""
    from django.db import connection, transaction
    from django.db.models import Max, Min

    from smarketing.core.models import Event

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    """
                    INSERT INTO core_event (name, occurred_at, object_type, object_id, payload)
                    SELECT %s, now(), %s, g::text,
                           jsonb_build_object('id', g, 'email', 'person' || g || '@example.com',
                                              'lifecycle_stage', 'lead', 'first_name', 'Person')
                    FROM generate_series(1, %s) AS g
                    """,
                    [EVENT_NAME, OBJECT_TYPE, count],
                )
        else:
            Event.objects.bulk_create(
                (
                    Event(
                        name=EVENT_NAME,
                        object_type=OBJECT_TYPE,
                        object_id=str(n),
                        payload={"id": n, "email": f"person{n}@example.com", "lifecycle_stage": "lead"},
                    )
                    for n in range(count)
                ),
                batch_size=2000,
            )
    bounds = Event.objects.filter(object_type=OBJECT_TYPE).aggregate(lo=Min("id"), hi=Max("id"))
    return bounds["lo"], bounds["hi"]


def copy_handler(name: str):
    from django.db import connection

    table = sink(name)

    def handle(events) -> int:
        # One set-based write per batch, keyed by the ids it was handed (binding a thousand JSON documents as
        # parameters would measure psycopg's client-side quoting, not the outbox).
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (event_id, name, payload) "
                f"SELECT id, name, payload FROM core_event WHERE id IN ({','.join(str(e.id) for e in events)})"
            )
        return len(events)

    return handle


def baseline(lo: int, hi: int) -> float:
    from django.db import connection, transaction

    started = time.perf_counter()
    for name in CONSUMERS:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {sink(name)} (event_id, name, payload) "
                "SELECT id, name, payload FROM core_event WHERE id BETWEEN %s AND %s",
                [lo, hi],
            )
    return time.perf_counter() - started


def fan_out(batch_size: int) -> tuple[float, dict[str, int]]:
    from smarketing.jobs import outbox

    started = time.perf_counter()
    outbox.sequence_events()
    handled = {name: outbox.run_consumer(name, batch_size=batch_size).handled for name in CONSUMERS}
    return time.perf_counter() - started, handled


def clean_up(connection) -> None:
    from smarketing.core.models import Event
    from smarketing.jobs.models import OutboxCursor

    drop_sinks(connection)
    OutboxCursor.objects.filter(name__in=CONSUMERS).delete()
    Event.objects.filter(object_type=OBJECT_TYPE).delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000, help="consumer batch size")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from smarketing.jobs import outbox

    call_command("migrate", interactive=False, verbosity=0)
    outbox.sequence_events()  # whatever was pending before, so the bench numbers only its own rows
    for name in CONSUMERS:
        # start="now": each cursor is placed before the bench's events exist, so it reads exactly those.
        outbox.ensure_cursor(outbox.register_consumer(name, copy_handler(name), batch_size=args.batch))
    create_sinks(connection)
    try:
        started = time.perf_counter()
        lo, hi = write_events(args.events)
        write_s = time.perf_counter() - started
        base_s = baseline(lo, hi)
        create_sinks(connection)  # empty again for the consumers
        fan_s, handled = fan_out(args.batch)
        with connection.cursor() as cursor:
            copied = {}
            for name in CONSUMERS:
                cursor.execute(f"SELECT COUNT(*), COUNT(DISTINCT event_id) FROM {sink(name)}")
                copied[name] = cursor.fetchone()
    finally:
        clean_up(connection)

    count = args.events
    assert all(n == count for n in handled.values()), handled
    assert all(rows == (count, count) for rows in copied.values()), copied
    base_rate, fan_rate = count / base_s, count / fan_s
    print(f"database: {connection.vendor}, events: {count:,}, consumers: {len(CONSUMERS)}, batch: {args.batch}")
    print(f"writing the events:                  {write_s:8.2f} s")
    print(f"baseline, 3 x INSERT ... SELECT:      {base_s:8.2f} s  {base_rate:12,.0f} events/s")
    print(f"outbox, sequencer + 3 consumers:      {fan_s:8.2f} s  {fan_rate:12,.0f} events/s")
    print(f"ratio outbox / baseline (throughput): {fan_rate / base_rate:8.2f}")
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
