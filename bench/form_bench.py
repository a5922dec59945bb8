"""Benchmark: a public form submission through HTTP beside a plain contact update, same run, same database.

    SMARKETING_DATA_DIR=var/bench100k .venv/bin/python bench/form_bench.py                  # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_1m .venv/bin/python bench/form_bench.py --repeat 300

Runs against whatever database the settings point at, at its current size (seed it first with
`smarketing seed --contacts N`; the target is 1,000,000 contacts on PostgreSQL). It writes: one live form
("Bench form", reused), and per run `--repeat` submissions, half from new addresses (`bench-form-…@bench.example`,
a contact created) and half from addresses that exist (a contact updated), plus `--repeat` title updates of
existing contacts for the baseline.

- submission: `POST /f/<id>/submit` as JSON with a fill token, through Django's test Client (the whole
  middleware stack, the view, the service: contact create/update, company, touch, event, counters, in one
  transaction);
- baseline: `crm.services.update_record(contact, data={"title": ...})`, the smallest audited write of a contact.
Prints p50/p95 of each (after --warmup untimed rounds) and the ratio of the p95s. Target (issue 9): p95 < 100 ms
at 1,000,000 contacts on PostgreSQL.
"""

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from smarketing.accounts.access import system_actor
    from smarketing.core.models import Origin
    from smarketing.crm import services
    from smarketing.crm.models import Contact
    from smarketing.forms import spam
    from smarketing.forms.fields import validate_definition
    from smarketing.forms.models import Form, FormStatus

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # The bench is one client sending fast: the per-address and per-form limits would stop it.
    settings.FORMS_RATE_PER_IP = settings.FORMS_RATE_PER_FORM = 10**9

    fields = [
        {"key": "email", "label": "Work email", "type": "email", "maps_to": "contact.email", "required": True},
        {"key": "first_name", "label": "First name", "type": "text", "maps_to": "contact.first_name"},
        {"key": "company", "label": "Company", "type": "text", "maps_to": "company.name"},
        {"key": "utm_source", "type": "hidden", "source": "utm_source"},
    ]
    form = Form.objects.filter(name="Bench form").first() or Form.objects.create(
        name="Bench form", fields=validate_definition(fields), status=FormStatus.LIVE, min_fill_seconds=0
    )
    url = f"/f/{form.public_id}/submit"
    contacts = Contact.objects.count()
    existing = list(Contact.objects.order_by("-id").values_list("pk", "email")[: args.repeat + args.warmup])
    if len(existing) < args.repeat + args.warmup:
        sys.exit("seed the database first (smarketing seed --contacts N)")
    client = Client()
    run = uuid.uuid4().hex[:8]

    def submission(i: int) -> float:
        email = existing[i][1] if i % 2 else f"bench-form-{run}-{i}@bench.example"
        body = {"_token": spam.fill_token(form), "email": email, "first_name": "Bench", "company": f"Bench Co {i % 20}",
                "_page": "https://www.example.com/pricing?utm_source=bench"}  # fmt: skip
        started = time.perf_counter()
        response = client.post(
            url, json.dumps(body), content_type="application/json", headers={"Accept": "application/json"}
        )
        elapsed = time.perf_counter() - started
        assert response.status_code == 200 and response.json()["ok"], response.content
        return elapsed * 1000

    actor = system_actor(Origin.SYSTEM)

    def update(i: int) -> float:
        contact = Contact.objects.get(pk=existing[i][0])
        started = time.perf_counter()
        services.update_record(contact, actor=actor, data={"title": f"Bench {run} {i}"}, origin=Origin.SYSTEM)
        return (time.perf_counter() - started) * 1000

    for i in range(args.warmup):
        submission(i)
        update(i)
    submit_ms = [submission(args.warmup + i) for i in range(args.repeat)]
    update_ms = [update(args.warmup + i) for i in range(args.repeat)]

    print(f"database: {connection.vendor}, {contacts:,} contacts, {args.repeat} timed rounds")
    print(f"{'':24}{'p50 ms':>10}{'p95 ms':>10}")
    print(f"{'form submission (HTTP)':24}{statistics.median(submit_ms):10.1f}{percentile(submit_ms, 0.95):10.1f}")
    print(f"{'contact update (service)':24}{statistics.median(update_ms):10.1f}{percentile(update_ms, 0.95):10.1f}")
    print(f"ratio of p95s: {percentile(submit_ms, 0.95) / percentile(update_ms, 0.95):.1f}x")
    try:
        load = os.getloadavg()[0]
        print(f"load average: {load:.2f}")
    except OSError:
        pass


if __name__ == "__main__":
    main()
