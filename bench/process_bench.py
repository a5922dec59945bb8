"""Process analytics and the handoff inbox at scale, beside hand-written SQL of the same figures in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smarketing_bench PYTHONPATH=. \\
        python bench/process_bench.py [--runs 20] [--days 90]

Issue 10's targets on PostgreSQL at 1,000,000 contacts and their histories: process analytics p95 <= 1 s, the
inbox p95 <= 100 ms. The database comes from `bench/run.py` (`smarketing seed --contacts 1000000`); the bare seed
has no handoffs, so the first run writes one per seeded move to MQL of the last `--days` days with one
INSERT … SELECT (decided as the contact's later stage says, owned by the contact's owner; the demo's own
generator, process/demo.py, is the per-row version) and a second SELECT puts 50 open ones in the first sales
rep's inbox. Later runs reuse them.

Each figure runs `--runs` times; the table prints p50 and p95 of the query object (the code the pages run) and
of the baseline (the same aggregate as one plain statement), and their ratio.
"""

import argparse
import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")
django.setup()

import datetime as dt  # noqa: E402

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from smarketing.accounts.models import Role, User  # noqa: E402
from smarketing.crm.defaults import default_pipeline  # noqa: E402
from smarketing.process import analytics, queries  # noqa: E402
from smarketing.process.models import Handoff  # noqa: E402


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


def sql(statement, params=()):
    def run():
        with connection.cursor() as cursor:
            cursor.execute(statement, list(params))
            cursor.fetchall()

    return run


def populate(days: int) -> None:
    if Handoff.objects.exists():
        return
    started = time.monotonic()
    rep = User.objects.filter(team__kind="sales", role=Role.MEMBER, is_active=True).order_by("id").first()
    with transaction.atomic(), connection.cursor() as cursor:  # all or nothing: a rerun finds none or all
        cursor.execute(
            """
            INSERT INTO process_handoff (contact_id, owner_id, team_id, status, started_at, due_at, remind_at,
                first_touch_kind, routed_how, reason_text, source, form_name, score, decided_at)
            SELECT l.contact_id, c.owner_id, %s,
                   CASE WHEN c.lifecycle_stage IN ('sql', 'opportunity', 'customer', 'evangelist') THEN 'accepted'
                        WHEN c.lifecycle_stage = 'mql' THEN 'rejected' ELSE 'closed' END,
                   l.changed_at, l.changed_at + interval '4 hours', l.changed_at + interval '3 hours',
                   '', 'bench', '', LEFT(COALESCE(NULLIF(c.last_source, ''), c.first_source), 50), '',
                   c.fit_score + c.engagement_score, l.changed_at + interval '20 hours'
            FROM (SELECT DISTINCT ON (contact_id) contact_id, changed_at FROM crm_lifecyclechange
                  WHERE to_stage = 'mql' AND changed_at >= now() - %s * interval '1 day'
                  ORDER BY contact_id, changed_at DESC) l
            JOIN crm_contact c ON c.id = l.contact_id
            """,
            [rep.team_id if rep else None, days],
        )
        cursor.execute(
            "UPDATE process_handoff SET reason_id = (SELECT id FROM process_rejectionreason ORDER BY id LIMIT 1)"
            " WHERE status = 'rejected'"
        )
        cursor.execute(
            "UPDATE process_handoff SET breached_at = due_at WHERE id % 3 = 0",
        )
        if rep is not None:
            cursor.execute(
                "UPDATE process_handoff SET status = 'open', owner_id = %s, decided_at = NULL,"
                " due_at = now() + (id %% 240) * interval '1 minute', remind_at = now()"
                " WHERE id IN (SELECT id FROM process_handoff WHERE status = 'rejected' ORDER BY id DESC LIMIT 50)",
                [rep.pk],
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE process_handoff")
    print(f"wrote {Handoff.objects.count():,} handoffs in {time.monotonic() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("This bench measures PostgreSQL (set DATABASE_URL).")
    populate(args.days)
    contacts = contact_estimate()
    pipeline = default_pipeline()
    today = timezone.localdate()
    start, end = today - dt.timedelta(days=args.days), today + dt.timedelta(days=1)
    low = timezone.make_aware(dt.datetime.combine(start, dt.time()))
    high = timezone.make_aware(dt.datetime.combine(end, dt.time()))
    period = {"pipeline_id": pipeline.pk, "start": start, "end": end}
    rep = Handoff.objects.filter(status="open").values_list("owner_id", flat=True).first()
    cases = [
        (
            "stage funnel",
            lambda: analytics.StageFunnel(**period).compute(),
            sql(
                "SELECT MAX(s.position) FROM crm_deal d JOIN crm_dealstagechange c ON c.deal_id = d.id"
                " JOIN crm_stage s ON s.id = c.to_stage_id WHERE d.pipeline_id = %s AND d.created_at >= %s"
                " AND d.created_at < %s GROUP BY d.id",
                [pipeline.pk, low, high],
            ),
        ),
        (
            "time in stage (p50/75/90)",
            lambda: analytics.TimeInStage(**period).compute(),
            sql(
                "SELECT c.from_stage_id, percentile_cont(ARRAY[0.5, 0.75, 0.9]) WITHIN GROUP (ORDER BY"
                " c.seconds_in_from) FROM crm_dealstagechange c JOIN crm_stage s ON s.id = c.from_stage_id"
                " WHERE s.pipeline_id = %s AND c.changed_at >= %s AND c.changed_at < %s GROUP BY 1",
                [pipeline.pk, low, high],
            ),
        ),
        (
            "lifecycle funnel",
            lambda: analytics.LifecycleFunnel(start=start, end=end).compute(),
            sql(
                "SELECT to_stage, COUNT(DISTINCT contact_id) FROM crm_lifecyclechange WHERE changed_at >= %s"
                " AND changed_at < %s GROUP BY 1",
                [low, high],
            ),
        ),
        ("weakest step", lambda: analytics.WeakestStep(**period).compute(), None),
        (
            "handoff summary",
            lambda: queries.HandoffSummary(start=start, end=end).compute(),
            sql(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE status = 'accepted') FROM process_handoff"
                " WHERE started_at >= %s AND started_at < %s",
                [low, high],
            ),
        ),
        ("acceptance by source", lambda: queries.AcceptanceBySource(start=start, end=end).compute(), None),
        (
            "rejections by campaign",
            lambda: queries.RejectionReasons(start=start, end=end, by="campaign").compute(),
            None,
        ),
        ("SLA by rep", lambda: queries.SlaByRep(start=start, end=end).compute(), None),
        ("inbox page over HTTP (25 cards)", inbox_page(rep), None),
        (
            "inbox query (25 cards with context)",
            lambda: queries.inbox(Handoff.objects.filter(owner_id=rep)),
            sql(
                "SELECT * FROM process_handoff WHERE owner_id = %s AND status = 'open' ORDER BY due_at LIMIT 50",
                [rep],
            ),
        ),
    ]
    print(f"{contacts:,} contacts, {Handoff.objects.count():,} handoffs, period {start} … {end}, {args.runs} runs")
    print(f"{'figure':34} {'p50 ms':>8} {'p95 ms':>8} {'base p95':>9} {'ratio':>6}")
    for name, fn, base in cases:
        fn()  # warm
        mine = timed(fn, args.runs)
        line = f"{name:34} {p(mine, 0.5):8.1f} {p(mine, 0.95):8.1f}"
        if base is not None:
            base()
            theirs = timed(base, args.runs)
            line += f" {p(theirs, 0.95):9.1f} {p(mine, 0.95) / max(p(theirs, 0.95), 0.01):6.1f}"
        print(line)


def inbox_page(user_id):
    """The rep's /handoff/ page through Django's test client (the whole view, template included)."""
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(pk=user_id))

    def get():
        response = client.get("/handoff/")
        assert response.status_code == 200, response.status_code

    return get


def contact_estimate() -> int:
    """The planner's row estimate: a full count of 1M rows would only slow the bench down."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'crm_contact'")
        return int(cursor.fetchone()[0])


if __name__ == "__main__":
    main()
