"""Enrolling every contact in a workflow and running its first step (set a property), beside a hand-written
set-based INSERT … SELECT of the same enrollments and one UPDATE of the same property, in the same run.

    DATABASE_URL=postgres://.../smarketing_bench PYTHONPATH=. python bench/workflow_bench.py [--limit N]

Issue 9's target: 1,000,000 contacts enrolled and through their first step in <= 5 minutes on PostgreSQL.
The workflow path is the real one: `services.enroll_matching` (one INSERT … SELECT, then the enrollment
touches and events in batches) and `runner.run_due` (lease claims, StepRun rows, the action's `run_batch`).
The baseline writes the same enrollment rows and the same property change with two plain statements inside a
transaction that is rolled back, so it leaves nothing behind. The workflow it creates stays (named "Bench …").
"""

import argparse
import os
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from smarketing.accounts.access import system_actor  # noqa: E402
from smarketing.core.models import Origin  # noqa: E402
from smarketing.crm.models import Contact  # noqa: E402
from smarketing.workflows import runner, services  # noqa: E402
from smarketing.workflows.models import Enrollment, EnrollmentStatus, Workflow  # noqa: E402

STATUS = "attempted"


class Rollback(Exception):
    pass


def source(limit: int | None) -> tuple[str, list]:
    """Every contact, or the first `limit` by id (a slice of a big database, to measure rates in less time)."""
    if limit:
        return "SELECT id AS contact_id FROM crm_contact ORDER BY id LIMIT %s", [limit]
    return "SELECT id AS contact_id FROM crm_contact", []


def baseline(limit: int | None) -> float:
    """The same rows by hand: one INSERT … SELECT of an active enrollment per contact, one UPDATE of the field."""
    table = Enrollment._meta.db_table
    contacts, params = source(limit)
    workflow = Workflow.objects.create(name="Bench baseline (rolled back)", status="active")
    started = time.monotonic()
    try:
        with transaction.atomic():
            now = timezone.now()
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {table} (workflow_id, contact_id, sequence, status, current_step, next_run_at,"
                    " claimed_by, entered_at, end_reason)"
                    f" SELECT %s, m.contact_id, 1, 'completed', '', NULL, '', %s, '' FROM ({contacts}) m",
                    [workflow.pk, now, *params],
                )
                cursor.execute(
                    f"UPDATE crm_contact SET lead_status = %s WHERE id IN (SELECT m.contact_id FROM ({contacts}) m)",
                    [STATUS, *params],
                )
            seconds = time.monotonic() - started
            raise Rollback
    except Rollback:
        pass
    workflow.delete()
    return seconds


def workflow_path(limit: int | None) -> tuple[float, float, int]:
    actor = system_actor(Origin.SYSTEM)
    workflow = services.create_workflow(
        actor=actor,
        data={
            "name": f"Bench {timezone.now():%Y-%m-%d %H:%M:%S}",
            "trigger": {"type": "manual", "params": {}},
            "definition": {
                "steps": [{"id": "s1", "type": "set_property", "params": {"field": "lead_status", "value": STATUS}}]
            },
        },
    )
    services.activate(workflow, actor=actor)
    started = time.monotonic()
    if limit:
        # enroll_matching's own insert (what it runs after turning its segment into SQL), on a slice.
        enrolled = services.enroll_from_sql(workflow, *source(limit))
    else:
        enrolled = services.enroll_matching(workflow, actor=actor)
    enrolled_at = time.monotonic() - started
    while Enrollment.objects.filter(workflow=workflow, status=EnrollmentStatus.ACTIVE).exists():
        runner.run_due(budget_seconds=600)
    return enrolled_at, time.monotonic() - started, enrolled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="Only the first N contacts by id.")
    args = parser.parse_args()
    contacts = Contact.objects.count()
    print(f"{contacts:,} contacts on {connection.vendor}" + (f", the first {args.limit:,}" if args.limit else ""))
    base = baseline(args.limit)
    print(f"baseline INSERT … SELECT + UPDATE:   {base:8.2f} s", flush=True)
    enrolled_at, total, enrolled = workflow_path(args.limit)
    print(f"workflow: enrolled {enrolled:,} in     {enrolled_at:8.2f} s")
    print(f"workflow: enrolled + first step run {total:8.2f} s  ({enrolled / max(total, 1e-9):,.0f} contacts/s)")
    print(f"ratio workflow / baseline: {total / max(base, 1e-9):.1f}x  (target: <= 300 s at 1,000,000 contacts)")
    if args.limit:
        print(f"at this rate, every contact: {contacts / max(enrolled / total, 1e-9):,.0f} s (extrapolated)")


if __name__ == "__main__":
    main()
