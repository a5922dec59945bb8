"""The slot engine (scheduling.availability.free_slots) for a team of 10 over 4 weeks, beside baselines in the
same run.

    SMARKETING_DATA_DIR=var/bench_sched .venv/bin/python bench/scheduling_bench.py [--runs 100]        # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_engine_bench .venv/bin/python bench/scheduling_bench.py

Issue 11's target: p95 <= 50 ms for the whole computation (queries included) of a 10-host team type over a
4-week window. The first run migrates the database (creating it on PostgreSQL) and writes the data, reused later:
10 hosts in five time zones, each with weekday hours (09:00-12:00, 13:00-17:00), 3 date overrides, 4 booked
meetings with their holds (40 in all) and 2 busy blocks (20), in the fixed window 2027-03-01 … 2027-03-28, and
the type with 30-minute meetings every 15 minutes, 5-minute buffers and max_per_day (so all five queries run).
Only databases whose name contains "bench" are written to (SQLite: any data dir; it is yours).

Figures: p50 and p95 over --runs, the number of queries, and each line's ratio to the first baseline, the raw SQL
fetch of the same rows (hosts, overrides, holds, busy blocks, per-day counts) on a plain cursor: what the
database must do anyway. The second baseline is one host's computation (a personal type): how the work grows
with hosts.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")

import django  # noqa: E402

django.setup()

from datetime import UTC, date, datetime, timedelta  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from smarketing.accounts.models import User  # noqa: E402
from smarketing.scheduling import availability  # noqa: E402
from smarketing.scheduling.models import (  # noqa: E402
    Assignment,
    AvailabilityOverride,
    BusyBlock,
    HostHold,
    Meeting,
    MeetingType,
    MeetingTypeHost,
)

FIRST, LAST = date(2027, 3, 1), date(2027, 3, 28)
NOW = datetime(2027, 2, 28, 12, tzinfo=UTC)
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney"]
HOURS = {d: [["09:00", "12:00"], ["13:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
TEAM_SLUG, SOLO_SLUG = "bench-sched-team", "bench-sched-solo"


def p(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def timed(fn, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def ensure_database() -> None:
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "postgresql":
        if "bench" not in name:
            raise SystemExit(f"Refusing to write to {name!r}: the database name must contain 'bench'.")
        with connection._nodb_cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if not cursor.fetchone():
                cursor.execute(f'CREATE DATABASE "{name}"')
                print(f"created database {name}")
    call_command("migrate", verbosity=0)


def populate() -> None:
    if MeetingType.objects.filter(slug=TEAM_SLUG).exists():
        return
    from smarketing.accounts.models import Team

    started = time.monotonic()
    with transaction.atomic():  # all or nothing: a rerun finds none or all
        team = Team.objects.order_by("id").first() or Team.objects.create(name="Bench", kind="sales")
        hosts = []
        for i in range(10):
            user, _ = User.objects.get_or_create(
                email=f"bench-host-{i}@bench.example",
                defaults={"full_name": f"Bench Host {i}", "time_zone": ZONES[i % 5], "working_hours": HOURS},
            )
            hosts.append(user)
        fields = {"durations": [30], "slot_interval": 15, "buffer_before": 5, "buffer_after": 5, "min_notice": 0}
        fields |= {"max_days_ahead": 60, "max_per_day": 6}
        mt = MeetingType.objects.create(
            name="Bench team", slug=TEAM_SLUG, team=team, assignment=Assignment.ROUND_ROBIN, **fields
        )
        MeetingType.objects.create(name="Bench solo", slug=SOLO_SLUG, owner=hosts[0], **fields)
        MeetingTypeHost.objects.bulk_create([MeetingTypeHost(meeting_type=mt, user=u) for u in hosts])
        overrides, meetings, blocks = [], [], []
        for h, user in enumerate(hosts):
            overrides += [
                AvailabilityOverride(user=user, date=FIRST + timedelta(days=h), ranges=[]),
                AvailabilityOverride(user=user, date=FIRST + timedelta(days=h + 9), ranges=[["10:00", "14:00"]]),
                AvailabilityOverride(user=user, date=FIRST + timedelta(days=h + 16), ranges=[["08:00", "11:00"]]),
            ]
            for k in range(4):
                starts = datetime.combine(FIRST + timedelta(days=(h + 7 * k) % 28), datetime.min.time(), UTC)
                starts += timedelta(hours=14)
                meetings.append(
                    Meeting(
                        meeting_type=mt,
                        host=user,
                        title="Bench meeting",
                        starts_at=starts,
                        ends_at=starts + timedelta(minutes=30),
                        uid=f"bench-{h}-{k}@bench.example",
                    )
                )
            for k in range(2):
                starts = datetime.combine(FIRST + timedelta(days=3 + h + 10 * k), datetime.min.time(), UTC)
                starts += timedelta(hours=10)
                blocks.append(BusyBlock(user=user, starts_at=starts, ends_at=starts + timedelta(hours=2)))
        AvailabilityOverride.objects.bulk_create(overrides)
        Meeting.objects.bulk_create(meetings)
        HostHold.objects.bulk_create(
            [
                HostHold(
                    meeting=m,
                    user_id=m.host_id,
                    starts_at=m.starts_at - timedelta(minutes=5),
                    ends_at=m.ends_at + timedelta(minutes=5),
                )
                for m in Meeting.objects.filter(meeting_type=mt)
            ]
        )
        BusyBlock.objects.bulk_create(blocks)
    print(f"wrote the bench data in {time.monotonic() - started:.1f} s")


def raw_fetch(mt_id: int):
    """The same rows as the engine's queries, on a plain cursor (no ORM, no Python arithmetic)."""
    lo = datetime.combine(FIRST, datetime.min.time(), UTC)
    hi = datetime.combine(LAST + timedelta(days=1), datetime.min.time(), UTC)
    statements = [
        (
            "SELECT u.id, u.time_zone, u.working_hours FROM accounts_user u WHERE u.is_active AND u.id IN"
            " (SELECT user_id FROM scheduling_meetingtypehost WHERE meeting_type_id = %s AND weight > 0)"
            " ORDER BY u.id",
            [mt_id],
        ),
        (
            "SELECT user_id, date, ranges FROM scheduling_availabilityoverride WHERE date >= %s AND date <= %s"
            " AND user_id IN (SELECT user_id FROM scheduling_meetingtypehost WHERE meeting_type_id = %s)",
            [FIRST - timedelta(days=1), LAST + timedelta(days=1), mt_id],
        ),
        (
            "SELECT user_id, starts_at, ends_at FROM scheduling_hosthold WHERE active AND starts_at < %s"
            " AND ends_at > %s AND user_id IN (SELECT user_id FROM scheduling_meetingtypehost"
            " WHERE meeting_type_id = %s)",
            [hi, lo, mt_id],
        ),
        (
            "SELECT user_id, starts_at, ends_at FROM scheduling_busyblock WHERE starts_at < %s AND ends_at > %s"
            " AND user_id IN (SELECT user_id FROM scheduling_meetingtypehost WHERE meeting_type_id = %s)",
            [hi, lo, mt_id],
        ),
        (
            "SELECT h.user_id, m.starts_at FROM scheduling_hosthold h JOIN scheduling_meeting m"
            " ON m.id = h.meeting_id WHERE m.meeting_type_id = %s AND m.status IN ('booked', 'held')"
            " AND m.starts_at >= %s AND m.starts_at < %s",
            [mt_id, lo, hi],
        ),
    ]

    def run():
        with connection.cursor() as cursor:
            for statement, params in statements:
                cursor.execute(statement, params)
                cursor.fetchall()

    return run


def queries_of(fn) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    ensure_database()
    populate()
    team = MeetingType.objects.get(slug=TEAM_SLUG)
    solo = MeetingType.objects.get(slug=SOLO_SLUG)
    collective = MeetingType(**{f.attname: getattr(team, f.attname) for f in MeetingType._meta.concrete_fields})
    collective.assignment = Assignment.COLLECTIVE  # the same rows, unsaved: only the combination differs
    some_slot = availability.free_slots(team, start=FIRST, end=LAST, now=NOW)[200]

    cases = [
        ("raw SQL fetch of the same rows", raw_fetch(team.pk)),
        ("free_slots, 1 host, 4 weeks", lambda: availability.free_slots(solo, start=FIRST, end=LAST, now=NOW)),
        ("free_slots, 10 hosts, 4 weeks", lambda: availability.free_slots(team, start=FIRST, end=LAST, now=NOW)),
        ("  collective, 10 hosts", lambda: availability.free_slots(collective, start=FIRST, end=LAST, now=NOW)),
        ("check_slot, 10 hosts", lambda: availability.check_slot(team, some_slot.starts_at, now=NOW)),
    ]
    slots = len(availability.free_slots(team, start=FIRST, end=LAST, now=NOW))
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    load = os.getloadavg()[0]
    print(
        f"{connection.vendor} ({connection.settings_dict['NAME']}), {slots:,} slots for the team over {FIRST} … "
        f"{LAST}, {args.runs} runs, load {load:.2f}"
    )
    print(f"{'figure':34} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8} {'x raw p50':>10}")
    base = None
    for name, fn in cases:
        fn()  # warm
        count = queries_of(fn)
        mine = timed(fn, args.runs)
        base = base or p(mine, 0.5)
        print(f"{name:34} {count:7} {p(mine, 0.5):8.1f} {p(mine, 0.95):8.1f} {p(mine, 0.5) / max(base, 0.01):10.1f}")


if __name__ == "__main__":
    main()
