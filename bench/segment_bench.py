"""Benchmark: a segment count with five conditions (one an activity window) beside hand-written SQL, same run.

    SMARKETING_DATA_DIR=var/bench100k .venv/bin/python bench/segment_bench.py            # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_1m .venv/bin/python bench/segment_bench.py

Reads whatever database the settings point at (seed it first: `smarketing seed --contacts 100000`); writes
nothing. The segment:

    lifecycle stage is any of lead, MQL, SQL
    AND consent is not "withdrawn"
    AND the company has at least 10 employees
    AND the last touch was in the last 365 days
    AND clicked a campaign email at least twice in the last 90 days

- engine: `segments.queries.count(definition)`: validation (the custom-property and kind catalogue look-ups)
  plus the compiled COUNT, as the builder's live count runs it;
- baseline: the same question as one hand-written SQL statement on a raw cursor (the fast shape: a grouped
  set of contact ids); the correlated-count shape is printed too.
Both must give the same number. Prints the median of --repeat timed runs (after one warm-up) and the ratio.
Targets (issue 8): 1M contacts / 20M touchpoints on PostgreSQL <= 5 s and <= 2x; 100k on SQLite <= 2 s.
"""

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")

STAGES = ["lead", "mql", "sql"]
CLICK_DAYS = 90
TOUCH_DAYS = 365
MIN_EMPLOYEES = 10
MIN_CLICKS = 2


def definition() -> dict:
    return {
        "op": "and",
        "negate": False,
        "rules": [
            {"field": "lifecycle_stage", "operator": "in", "value": STAGES},
            {"field": "consent_status", "operator": "not_equals", "value": "withdrawn"},
            {"field": "company.employees", "operator": "gte", "value": MIN_EMPLOYEES},
            {"field": "last_touch_at", "operator": "within_last_days", "value": TOUCH_DAYS},
            {"event": {"kinds": ["email_clicked"], "min_count": MIN_CLICKS, "within_days": CLICK_DAYS}},
        ],
    }


# The same question in the shape a person would write for speed: the activity condition as one grouped set of
# contact ids from the (kind, occurred_at) index.
HAND_SQL = """
SELECT COUNT(*) FROM crm_contact c
JOIN crm_company co ON co.id = c.company_id
WHERE c.lifecycle_stage IN (%s, %s, %s)
  AND c.consent_status <> %s
  AND co.employees >= %s
  AND c.last_touch_at >= %s
  AND c.id IN (SELECT t.contact_id FROM timeline_touchpoint t
               WHERE t.kind = %s AND t.occurred_at >= %s AND t.contact_id IS NOT NULL
               GROUP BY t.contact_id HAVING COUNT(*) >= %s)
"""

# The first shape that comes to mind: a correlated count per contact (printed for comparison).
CORRELATED_SQL = """
SELECT COUNT(*) FROM crm_contact c
JOIN crm_company co ON co.id = c.company_id
WHERE c.lifecycle_stage IN (%s, %s, %s)
  AND c.consent_status <> %s
  AND co.employees >= %s
  AND c.last_touch_at >= %s
  AND (SELECT COUNT(*) FROM timeline_touchpoint t
       WHERE t.contact_id = c.id AND t.kind = %s AND t.occurred_at >= %s) >= %s
"""


def hand_count(now: datetime.datetime, sql: str = HAND_SQL) -> int:
    from django.db import connection

    params = [
        *STAGES,
        "withdrawn",
        MIN_EMPLOYEES,
        now - datetime.timedelta(days=TOUCH_DAYS),
        "email_clicked",
        now - datetime.timedelta(days=CLICK_DAYS),
        MIN_CLICKS,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def timed(func, repeat: int) -> tuple[float, object]:
    func()  # warm-up: caches, the kind catalogue, the planner's statistics
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from smarketing.crm.models import Contact
    from smarketing.segments import queries
    from smarketing.timeline.models import Touchpoint

    now = timezone.now()
    contacts = Contact.objects.count()
    touches = Touchpoint.objects.order_by().values("pk")[:50_000_000].count() if connection.vendor == "sqlite" else None
    if touches is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'timeline_touchpoint'")
            touches = cursor.fetchone()[0]
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(f"contacts: {contacts:,}  touchpoints: {touches:,}{' (estimate)' if connection.vendor != 'sqlite' else ''}")

    engine_s, engine_n = timed(lambda: queries.count(definition(), now=now), args.repeat)
    hand_s, hand_n = timed(lambda: hand_count(now), args.repeat)
    print(f"engine   : {engine_s * 1000:9.1f} ms  ({engine_n:,} contacts)")
    correlated_s, correlated_n = timed(lambda: hand_count(now, CORRELATED_SQL), args.repeat)
    print(f"baseline : {hand_s * 1000:9.1f} ms  ({hand_n:,} contacts, hand-written SQL, grouped IN)")
    print(f"(also)   : {correlated_s * 1000:9.1f} ms  ({correlated_n:,} contacts, hand-written SQL, correlated count)")
    print(f"ratio    : {engine_s / hand_s:9.2f}x")
    if not engine_n == hand_n == correlated_n:
        print("MISMATCH: the engine and the hand-written SQL disagree", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
