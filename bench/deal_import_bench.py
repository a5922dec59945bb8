"""Benchmark: import N deals from a HubSpot-style CSV (create), then the same file with a third of them moved.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smk_bench .venv/bin/python bench/deal_import_bench.py --rows 20000

The database must be a scratch one: the script migrates it and EMPTIES it (flush) before measuring. Half the
deals name a contact (imported first, through the contact importer) who becomes an opportunity; half name a
company. The second pass moves every third deal to the next stage (and every ninth to closed won), so it
measures stage history, touches, events and won promotions; the rest of its rows are unchanged.
"""

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")

HEADER = [
    "Record ID", "Deal Name", "Deal Stage", "Amount", "Close Date", "Associated Company", "Associated Contact",
    "Deal owner", "Create Date",
]  # fmt: skip
STAGES = ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin"]


def generate(path: Path, rows: int, owners: list[str], moved: bool) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for n in range(1, rows + 1):
            stage = n % len(STAGES)
            if moved and n % 9 == 0:
                name = "closedwon"
            elif moved and n % 3 == 0:
                name = STAGES[min(stage + 1, len(STAGES) - 1)]
            else:
                name = STAGES[stage]
            writer.writerow(
                [
                    f"d-{n}",
                    f"Deal {n}",
                    name,
                    f"{1000 + n % 5000}.00",
                    "2026-06-30",
                    f"Company {n % 2000}" if n % 2 else "",
                    f"person{n}@example.com" if n % 2 == 0 else "",
                    owners[n % len(owners)],
                    "2026-01-15",
                ]
            )


def contacts_csv(path: Path, rows: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Email", "First Name", "Lifecycle Stage"])
        for n in range(2, rows + 1, 2):
            writer.writerow([f"person{n}@example.com", f"Person {n}", "salesqualifiedlead"])


def run_import(path: Path, object_type: str, admin) -> tuple[float, object]:
    from smarketing.dataio import services
    from smarketing.dataio.importer import runner

    name, size = services.store_path(path)
    imp = services.create_import(
        file_name=name, size=size, original_name=path.name, object_type=object_type, actor=admin
    )
    runner.start(imp, admin)
    started = time.perf_counter()
    imp = runner.run(imp.pk)
    return time.perf_counter() - started, imp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a scratch PostgreSQL database: the target is measured on PostgreSQL.")
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    from smarketing.accounts.models import Role, Team, User
    from smarketing.crm.defaults import install_defaults
    from smarketing.crm.models import Pipeline, Stage

    install_defaults(Team, Pipeline, Stage)
    admin, _ = User.objects.get_or_create(email="bench-admin@example.com", defaults={"role": Role.ADMIN})
    owners = []
    for i in range(5):
        user, _ = User.objects.get_or_create(email=f"owner{i}@example.com", defaults={"full_name": f"Owner {i}"})
        owners.append(user.email)

    with tempfile.TemporaryDirectory() as tmp:
        people = Path(tmp) / "contacts.csv"
        contacts_csv(people, args.rows)
        seconds, imp = run_import(people, "contact", admin)
        print(f"contacts: {imp.created:,} created in {seconds:.1f} s")
        for moved in (False, True):
            path = Path(tmp) / f"deals-{int(moved)}.csv"
            generate(path, args.rows, owners, moved)
            seconds, imp = run_import(path, "deal", admin)
            label = "re-import, a third moved" if moved else "first import"
            print(
                f"deals, {label}: {seconds:.1f} s, {args.rows / seconds:,.0f} rows/s; created {imp.created:,} "
                f"updated {imp.updated:,} unchanged {imp.unchanged:,} rejected {imp.rejected:,}; status {imp.status}"
            )


if __name__ == "__main__":
    main()
