"""Benchmark: import N contacts from a HubSpot-style CSV, beside PostgreSQL COPY of the same file.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smk_bench .venv/bin/python bench/import_bench.py --rows 1000000

The database must be a scratch one: the script migrates it and EMPTIES it (flush) before measuring.
Prints rows/s and peak memory (RSS) of the import, the COPY baseline and the ratio between the two.
"""

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")

HEADER = [
    "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Job Title", "Contact owner",
    "Lifecycle Stage", "Lead Status", "Create Date", "Associated Company", "Original Source", "City",
]  # fmt: skip
FIRST = "Ada Ben Chloé Dan Eve Finn Gia Hugo Ines Jon Kai Lea Mo Nia Oli Pia Raj Sam Tia Uma Vic Wes Yan Zoe".split()
LAST = "Smith Müller García Rossi Dubois Kowalski Novak Jensen Silva Kim Tanaka Brown Lee Patel Cohen O'Neil".split()
STAGES = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"]
STATUSES = ["NEW", "OPEN", "IN_PROGRESS", "ATTEMPTED_TO_CONTACT", "CONNECTED", ""]
SOURCES = ["ORGANIC_SEARCH", "PAID_SEARCH", "EMAIL_MARKETING", "SOCIAL_MEDIA", "REFERRALS", "DIRECT_TRAFFIC"]
TITLES = ["CEO", "CTO", "VP Marketing", "Head of Sales", "Engineer", "Analyst", "Office Manager", ""]


def ascii_name(name: str) -> str:
    return unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore").decode()


def generate(path: Path, rows: int, companies: int, owners: list[str]) -> None:
    rng = random.Random(42)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        base_ms = 1_600_000_000_000
        for n in range(1, rows + 1):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            company = rng.randrange(companies)
            free = rng.random() < 0.3
            domain = "gmail.com" if free else f"company{company}.example"
            writer.writerow(
                [
                    n,
                    first,
                    last,
                    f"{ascii_name(first)}.{n}@{domain}",
                    f"+1 555 {n:07d}",
                    rng.choice(TITLES),
                    rng.choice(owners) if owners and rng.random() < 0.5 else "",
                    rng.choice(STAGES),
                    rng.choice(STATUSES),
                    base_ms + n * 60_000,  # HubSpot exports dates as epoch milliseconds
                    f"Company {company}" if not free or rng.random() < 0.5 else "",
                    rng.choice(SOURCES),
                    "Paris" if n % 3 else "Berlin",
                ]
            )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def copy_baseline(path: Path) -> float:
    """Seconds PostgreSQL needs to COPY the same file into a plain scratch table (no indexes, no parsing)."""
    from django.db import connection

    columns = ", ".join(f"c{i} text" for i in range(len(HEADER)))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy_scratch")
        cursor.execute(f"CREATE TABLE bench_copy_scratch ({columns})")
        started = time.perf_counter()
        with cursor.cursor.copy("COPY bench_copy_scratch FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            with open(path, "rb") as fh:
                while block := fh.read(1 << 20):
                    copy.write(block)
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy_scratch")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=50_000)
    parser.add_argument("--events", action="store_true", help="publish a created event per contact (webhooks)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a scratch PostgreSQL database: the target is measured on PostgreSQL.")
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    from smarketing.accounts.models import Team
    from smarketing.crm.defaults import install_defaults
    from smarketing.crm.models import Pipeline, Stage

    install_defaults(Team, Pipeline, Stage)

    from smarketing.accounts.models import Role, User
    from smarketing.dataio import services
    from smarketing.dataio.importer import runner

    admin, _ = User.objects.get_or_create(email="bench-admin@example.com", defaults={"role": Role.ADMIN})
    owners = []
    for i in range(5):
        user, _ = User.objects.get_or_create(email=f"owner{i}@example.com", defaults={"full_name": f"Owner {i}"})
        owners.append(user.email)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hubspot-contacts.csv"
        started = time.perf_counter()
        generate(path, args.rows, args.companies, owners)
        size_mb = path.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows ({size_mb:,.0f} MB) in {time.perf_counter() - started:.1f} s")

        copy_seconds = copy_baseline(path)
        print(f"COPY baseline: {copy_seconds:.1f} s ({args.rows / copy_seconds:,.0f} rows/s)")

        rss_before = peak_rss_mb()
        name, size = services.store_path(path)
        imp = services.create_import(
            file_name=name, size=size, original_name=path.name, object_type="contact", actor=admin
        )
        unmapped = ", ".join(imp.unmapped_columns) or "none"
        print(f"mapping: {dict(zip(imp.header, imp.mapping, strict=True))} (unmapped: {unmapped})")
        imp.send_events = args.events
        imp.save(update_fields=["send_events"])
        runner.start(imp, admin)
        started = time.perf_counter()
        last = [started]

        def progress(current):
            now = time.perf_counter()
            if now - last[0] >= 10 or current.finished:
                last[0] = now
                print(f"  {current.next_row:>9,} / {current.total_rows or 0:,} rows  {now - started:6.1f} s")

        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        imp = runner.run(imp.pk, progress=progress)
        seconds = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = cpu_after.ru_utime - cpu_before.ru_utime + cpu_after.ru_stime - cpu_before.ru_stime
        rate = args.rows / seconds
        print(
            f"import: {seconds:.1f} s, {rate:,.0f} rows/s, peak RSS {peak_rss_mb():,.0f} MB "
            f"(before import {rss_before:,.0f} MB), Python CPU {cpu:.0f} s; status {imp.status}"
        )
        print(
            f"  created {imp.created:,} updated {imp.updated:,} unchanged {imp.unchanged:,} "
            f"rejected {imp.rejected:,} companies created {imp.companies_created:,}"
        )
        print(f"ratio import / COPY: {seconds / copy_seconds:.1f}x")


if __name__ == "__main__":
    main()
