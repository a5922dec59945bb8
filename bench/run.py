"""Benchmark the pages that must stay fast at scale, each beside the plain SQL that fetches the same rows.

From the repository root:

    .venv/bin/python bench/run.py --contacts 100000
        SQLite in var/bench/ (SMARKETING_DATA_DIR, default var/bench)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smarketing_bench .venv/bin/python bench/run.py --contacts 1000000
        PostgreSQL; the database is created when missing

The first run seeds the database (`smarketing seed`); later runs reuse it (--fresh rebuilds it). Each page is
requested in-process through Django's test Client, logged in as a sales rep, `--repeat` times after a warm-up;
the figures are server time (middleware, session, view, queries, template) p50/p95, the number of queries per
request, and a baseline measured in the same run: hand-written SQL on a raw cursor that fetches the same rows,
p50, with the ratio page/baseline. Results go to bench/results/ (git-ignored) as JSON and text.

Only a local database is ever touched (127.0.0.1 / localhost / SQLite), and only one whose name says "bench".
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000, help="Size to seed when the database is empty.")
    parser.add_argument("--touches-per-contact", type=float, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=30, help="Timed requests per page (after 3 warm-ups).")
    parser.add_argument("--fresh", action="store_true", help="Drop the bench database first and seed it again.")
    parser.add_argument("--user", default="sam@demo.smarketing.local", help="The sales rep to log in as.")
    parser.add_argument(
        "--admin", default="alex@demo.smarketing.local", help="An admin, to reach the admin pages in the crawl."
    )
    parser.add_argument("--crawl-repeat", type=int, default=15, help="Timed requests per crawled page.")
    parser.add_argument("--crawl-pages", type=int, default=150, help="At most this many crawled pages.")
    parser.add_argument("--no-crawl", action="store_true", help="Only the fixed pages, with their SQL baselines.")
    args = parser.parse_args()
    args.seed_allowed = True
    if not 5 <= args.crawl_repeat <= 200 or not 1 <= args.crawl_pages <= 500:
        parser.error("--crawl-repeat must be 5-200 and --crawl-pages 1-500")
    if not 1 <= args.contacts <= 20_000_000:
        parser.error("--contacts must be between 1 and 20,000,000")
    if not 5 <= args.repeat <= 1000:
        parser.error("--repeat must be between 5 and 1000")
    return args


# ---------------------------------------------------------------------------------------------------------
# The database: a dedicated local one, created (or rebuilt) before Django starts


def prepare_database(args) -> str:
    os.environ.setdefault("SMARKETING_DATA_DIR", str(ROOT / "var" / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        data_dir = Path(os.environ["SMARKETING_DATA_DIR"]).resolve()
        path = data_dir / "smarketing.sqlite3"
        if args.fresh:
            if "bench" not in data_dir.name:
                sys.exit(f"--fresh deletes {path}; use a data directory whose name contains 'bench'")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"SQLite {path}"
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit("DATABASE_URL must be a postgres:// URL (or unset for SQLite)")
    if parts.hostname not in LOCAL_HOSTS:
        sys.exit(f"The bench only runs against a local database, not {parts.hostname!r}")
    name = unquote(parts.path.lstrip("/"))
    if "bench" not in name:
        if args.fresh:
            sys.exit(f"--fresh drops the database: use one whose name contains 'bench', not {name!r}")
        # Another local database may be timed as it is, but is never seeded (checked in main()).
        args.seed_allowed = False
    import psycopg
    from psycopg import sql

    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and args.fresh:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"PostgreSQL {parts.hostname}/{name}"


# ---------------------------------------------------------------------------------------------------------
# Timing


def timed(fn, repeat: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Bench:
    def __init__(self, repeat: int):
        self.repeat = repeat
        self.rows = []
        self.timed, self.p = timed, p  # for bench/crawl.py

    @staticmethod
    def count_queries(request, durations: list | None = None) -> int:
        """The SQL statements one request runs (their times in ms appended to `durations`).

        Counted with an execute wrapper: each request's start resets connection.queries, so
        CaptureQueriesContext cannot see across test-client requests.
        """
        from django.db import connection

        statements = []

        def count(execute, sql, params, many, context):
            statements.append(sql)
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                if durations is not None:
                    durations.append((time.perf_counter() - started) * 1000)

        with connection.execute_wrapper(count):
            request()
        return len(statements)

    def page(self, label: str, request, baseline, check=None):
        """Time `request()` (returns a response) and `baseline()` (raw SQL); count the page's queries."""
        response = request()
        if check is not None:
            check(response)
        elif response.status_code != 200:
            raise SystemExit(f"{label}: HTTP {response.status_code}")
        queries = self.count_queries(request)
        rows = len(baseline())
        page_ms = timed(request, self.repeat)
        base_ms = timed(baseline, self.repeat)
        row = {
            "page": label,
            "p50_ms": round(p(page_ms, 0.5), 2),
            "p95_ms": round(p(page_ms, 0.95), 2),
            "queries": queries,
            "sql_rows": rows,
            "sql_p50_ms": round(p(base_ms, 0.5), 2),
            "sql_p95_ms": round(p(base_ms, 0.95), 2),
        }
        row["ratio"] = round(row["p50_ms"] / row["sql_p50_ms"], 1) if row["sql_p50_ms"] else None
        self.rows.append(row)
        print(
            f"  {label:<40}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}{row['queries']:>8}"
            f"{row['sql_p50_ms']:>10.2f}{row['ratio']:>8.1f}x",
            flush=True,
        )


# ---------------------------------------------------------------------------------------------------------
# Plain SQL baselines: what the page's rows cost the database alone


def sql_runner(sql: str, params: list):
    from django.db import connection

    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    return run


def many(*runners):
    def run():
        return [row for r in runners for row in r()]

    return run


LIST_SQL = (
    "SELECT c.id, c.email, c.first_name, c.last_name, c.title, c.lifecycle_stage, c.lead_status, c.last_touch_at, "
    "c.custom, c.owner_id, co.id, co.name, co.domain, u.id, u.full_name, u.email "
    "FROM crm_contact c LEFT JOIN crm_company co ON co.id = c.company_id "
    "LEFT JOIN accounts_user u ON u.id = c.owner_id "
    "WHERE {where} ORDER BY c.id DESC LIMIT 51"
)


def like_prefix(column: str, prefix: str, vendor: str) -> tuple[str, list]:
    """The indexed prefix condition, as core.queries.prefix_q writes it for each database."""
    if vendor == "postgresql":
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"{column} LIKE %s", [escaped + "%"]
    return f"({column} >= %s AND {column} < %s)", [prefix, prefix + "\U0010ffff"]


def main():
    args = parse_args()
    where = prepare_database(args)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from smarketing.core.queries import keyset_page
    from smarketing.crm.models import Contact, Deal, Stage
    from smarketing.crm.queries import CONTACT_SORTS
    from smarketing.timeline.models import Touchpoint

    print(f"Database: {where}")
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # pages render with the production manifest
    seeded = None
    existing = Contact.objects.count()
    if existing == 0:
        if not args.seed_allowed:
            sys.exit("The database is empty and its name does not contain 'bench': the bench seeds only those.")
        from smarketing.demo.seed import seed

        print(f"Seeding {args.contacts:,} contacts...", flush=True)
        result = seed(
            contacts=args.contacts, seed=args.seed, touches_per_contact=args.touches_per_contact, demo_users=True
        )
        seeded = {"seconds": round(result.seconds, 1), "contacts": result.contacts, "touchpoints": result.touchpoints}
        if connection.vendor == "postgresql":
            # What autovacuum does soon after a bulk load: visibility map and hint bits, so the timings below
            # are those of a settled database, not of the first reads after the load.
            started = time.monotonic()
            # Every table: the pillars' bulk tables too (email sends, list members...), whose reports read
            # index-only once their visibility map is set (a campaign report: 234 ms before, 50 ms after).
            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)")
            print(f"VACUUM ANALYZE after the load: {time.monotonic() - started:.0f} s")
        existing = result.contacts
    elif existing < args.contacts * 0.9:
        print(f"Note: the database holds {existing:,} contacts, fewer than --contacts; --fresh rebuilds it.")
    vendor = connection.vendor
    touch_count = Touchpoint.objects.order_by("-id").values_list("id", flat=True).first() or 0  # ~count, no scan

    # The contact with the longest timeline: the seed gives it the top engagement score.
    heavy = Contact.objects.order_by("-engagement_score", "id").first()
    heavy_touches = Touchpoint.objects.filter(contact=heavy).count()
    # Search terms from a real contact in the middle of the table.
    ids = Contact.objects.order_by("id").values_list("id", flat=True)
    mid_id = ids.filter(id__gte=(ids.first() + ids.last()) // 2).first()
    middle = Contact.objects.get(pk=mid_id)
    name_prefix = f"{middle.first_name} {middle.last_name[:2]}".lower()
    local, domain = middle.email.split("@")
    email_prefix = f"{local}@{domain[:2]}"
    deep_cursor = keyset_page(Contact.objects.filter(pk__lte=mid_id), CONTACT_SORTS["newest"], None, 1).next_cursor

    from smarketing.accounts.models import User

    user = User.objects.get(email=args.user)
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(user)
    print(
        f"{existing:,} contacts, ~{touch_count:,} touchpoints; record page: contact {heavy.pk} "
        f"with {heavy_touches:,} touchpoints; load average {os.getloadavg()[0]:.1f}"
    )
    if heavy_touches < 5000:
        print("Note: no contact has 5,000 touchpoints (the seed adds one from 10,000 contacts up).")

    bench = Bench(args.repeat)
    print(f"\n  {'page (server time, ms)':<40}{'p50':>9}{'p95':>9}{'queries':>8}{'SQL p50':>10}{'ratio':>9}")
    contact_list = reverse("contact_list")

    def get(url):
        return lambda: client.get(url)

    bench.page("contact list, first page", get(contact_list), sql_runner(LIST_SQL.format(where="TRUE"), []))
    bench.page(
        "contact list, deep keyset page",
        get(f"{contact_list}?{urlencode({'after': deep_cursor})}"),
        sql_runner(LIST_SQL.format(where="c.id < %s"), [mid_id]),
    )
    bench.page(
        "contact list, lifecycle = MQL",
        get(f"{contact_list}?lifecycle=mql"),
        sql_runner(LIST_SQL.format(where="c.lifecycle_stage = %s"), ["mql"]),
    )
    conditions, params = [], []
    for column in ("c.email", "c.name_key", "c.last_key"):
        cond, values = like_prefix(column, name_prefix, vendor)
        conditions.append(cond)
        params += values
    bench.page(
        f"search name prefix {name_prefix!r}",
        get(f"{contact_list}?{urlencode({'q': name_prefix})}"),
        sql_runner(LIST_SQL.format(where=" OR ".join(conditions)), params),
    )
    cond, values = like_prefix("c.email", email_prefix, vendor)
    bench.page(
        f"search email prefix {email_prefix!r}",
        get(f"{contact_list}?{urlencode({'q': email_prefix})}"),
        sql_runner(LIST_SQL.format(where=cond), values),
    )

    record_sql = many(
        sql_runner(
            "SELECT c.*, co.name, co.domain, u.full_name FROM crm_contact c "
            "LEFT JOIN crm_company co ON co.id = c.company_id LEFT JOIN accounts_user u ON u.id = c.owner_id "
            "WHERE c.id = %s",
            [heavy.pk],
        ),
        sql_runner(
            "SELECT t.id, t.occurred_at, t.kind, t.team, t.summary, t.details, t.source, t.deal_id, "
            "u.full_name, ca.name FROM timeline_touchpoint t LEFT JOIN accounts_user u ON u.id = t.actor_id "
            "LEFT JOIN campaigns_campaign ca ON ca.id = t.campaign_id WHERE t.contact_id = %s "
            "ORDER BY t.occurred_at DESC, t.id DESC LIMIT 31",
            [heavy.pk],
        ),
        sql_runner(
            "SELECT * FROM crm_lifecyclechange WHERE contact_id = %s ORDER BY changed_at DESC, id DESC LIMIT 20",
            [heavy.pk],
        ),
    )
    bench.page(
        f"contact record ({heavy_touches:,} touchpoints)", get(reverse("contact_detail", args=[heavy.pk])), record_sql
    )

    stages = list(Stage.objects.filter(pipeline__is_default=True).order_by("position"))
    cutoff = datetime.now(UTC) - timedelta(days=30)
    board_queries = []
    for stage in stages:
        closed = stage.outcome != "open"
        board_queries.append(
            sql_runner(
                "SELECT d.id, d.name, d.amount, d.currency, d.stage_entered_at, d.status, d.owner_id, co.name, "
                "u.full_name FROM crm_deal d LEFT JOIN crm_company co ON co.id = d.company_id "
                "LEFT JOIN accounts_user u ON u.id = d.owner_id WHERE d.stage_id = %s"
                + (" AND d.closed_at >= %s" if closed else "")
                + " ORDER BY d.id DESC LIMIT 50",
                [stage.pk, cutoff] if closed else [stage.pk],
            )
        )
    open_ids = [s.pk for s in stages if s.outcome == "open"]
    closed_ids = [s.pk for s in stages if s.outcome != "open"]
    marks = ", ".join(["%s"] * len(open_ids))
    closed_marks = ", ".join(["%s"] * len(closed_ids))
    board_queries.append(
        sql_runner(
            f"SELECT stage_id, currency, COUNT(*), SUM(amount) FROM crm_deal WHERE stage_id IN ({marks}) "
            f"OR (stage_id IN ({closed_marks}) AND closed_at >= %s) GROUP BY stage_id, currency",
            [*open_ids, *closed_ids, cutoff],
        )
    )
    bench.page(f"pipeline board ({Deal.objects.count():,} deals)", get(reverse("pipeline_board")), many(*board_queries))

    run_tag = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    counter = iter(range(1_000_000))
    create_url = reverse("contact_create")

    def create():
        n = next(counter)
        return client.post(
            create_url,
            {
                "email": f"bench-{run_tag}-{n}@bench.example",
                "first_name": "Bench",
                "last_name": f"Contact {n}",
                "title": "Head of Benchmarks",
                "lifecycle_stage": "lead",
                "consent_status": "unknown",
            },
        )

    def created(response):
        if response.status_code != 302:
            raise SystemExit(f"contact create: HTTP {response.status_code} (form errors?)")

    contact_fields = [f for f in Contact._meta.concrete_fields if not f.primary_key]
    insert_sql = (
        f"INSERT INTO crm_contact ({', '.join(f.column for f in contact_fields)}) "
        f"VALUES ({', '.join(['%s'] * len(contact_fields))})"
    )

    def raw_insert():
        n = next(counter)
        obj = Contact(email=f"bench-{run_tag}-raw{n}@bench.example", first_name="Bench", last_name=f"Raw {n}")
        params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in contact_fields]
        with connection.cursor() as cursor:
            cursor.execute(insert_sql, params)
        return [n]

    bench.page("contact create (services, POST)", create, raw_insert, check=created)

    crawl_rows = []
    if not args.no_crawl:
        from bench.crawl import TARGET_P95_MS, run_crawl

        admin = User.objects.filter(email=args.admin).first()
        crawl_rows = run_crawl(bench, user, admin, args.crawl_repeat, args.crawl_pages)

    facts = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": where,
        "vendor": vendor,
        "contacts": existing,
        "touchpoints_approx": touch_count,
        "record_touchpoints": heavy_touches,
        "seeded": seeded,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "page_size": settings.PAGE_SIZE,
        "results": bench.rows,
        "crawl_repeat": args.crawl_repeat,
        "crawl": crawl_rows,
    }
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{run_tag}-{vendor}-{existing}"
    (out_dir / f"{stem}.json").write_text(json.dumps(facts, indent=2))
    worst = max(bench.rows[:-1], key=lambda r: r["p95_ms"])
    print(
        f"\nSlowest read page p95: {worst['p95_ms']:.1f} ms ({worst['page']}); median ratio to plain SQL: "
        f"{statistics.median(r['ratio'] for r in bench.rows if r['ratio']):.1f}x"
    )
    if crawl_rows:
        timed_rows = [r for r in crawl_rows if "p95_ms" in r]
        slow = [r for r in timed_rows if r["p95_ms"] > TARGET_P95_MS]
        broken = [r for r in crawl_rows if "status" in r]
        worst = max(timed_rows, key=lambda r: r["p95_ms"])
        print(
            f"Crawl: {len(timed_rows)} pages timed, slowest p95 {worst['p95_ms']:.1f} ms ({worst['page']}); "
            f"{len(slow)} over {TARGET_P95_MS:.0f} ms p95; {len(broken)} not 200"
        )
    print(f"Saved bench/results/{stem}.json")


if __name__ == "__main__":
    main()
