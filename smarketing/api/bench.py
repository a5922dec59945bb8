"""Throughput of the API: list pages and batch upsert, measured in-process (server time, no network).

    SMARKETING_DATA_DIR=var/bench-api .venv/bin/python -m smarketing.api.bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smk_bench_api .venv/bin/python -m smarketing.api.bench

The database must be a scratch one (its name must contain "bench"): it is migrated and the API's bench rows are
added to it. Prints rows/s for list pages (500 rows, with and without ?expand) and records/s for batch upsert
(1,000 new contacts, then the same batch again, all unchanged).
"""

import os
import statistics
import sys
import time
import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")


def main() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    name = str(settings.DATABASES["default"]["NAME"])
    if "bench" not in name:
        sys.exit(f"refusing to touch {name!r}: use a scratch database whose name contains 'bench'")
    call_command("migrate", verbosity=0)

    from smarketing.accounts.models import Role, User
    from smarketing.api import throttling, tokens

    throttling.RATE_PER_MINUTE = 10**9
    user, _ = User.objects.get_or_create(email="api-bench@example.com", defaults={"role": Role.ADMIN})
    raw = tokens.create_token(user, name=f"bench {uuid.uuid4().hex[:6]}", scope="read_write")[1]
    client = Client(headers={"Authorization": f"Bearer {raw}"}, SERVER_NAME="localhost")
    run = uuid.uuid4().hex[:8]

    def post(records):
        started, cpu = time.perf_counter(), time.process_time()
        response = client.post("/api/v1/contacts/batch/upsert", {"records": records}, content_type="application/json")
        assert response.status_code == 200, response.content[:300]
        return time.perf_counter() - started, time.process_time() - cpu, response.json()["totals"]

    print(f"database: {connection.vendor} {name}")
    # Wall time depends on what else the machine runs; CPU time of this process is the steadier figure.
    batches = 5
    created, unchanged = [0.0, 0.0], [0.0, 0.0]
    for b in range(batches):
        records = [
            {"email": f"bench-{run}-{b}-{i}@example.com", "first_name": "Bench", "last_name": str(i), "title": "CTO"}
            for i in range(1000)
        ]
        wall, cpu, totals = post(records)
        assert totals["created"] == 1000, totals
        created[0] += wall
        created[1] += cpu
        wall, cpu, totals = post(records)
        assert totals["unchanged"] == 1000, totals
        unchanged[0] += wall
        unchanged[1] += cpu
    n = batches * 1000
    print(f"batch upsert, 1,000 new contacts per call: {n / created[0]:,.0f} records/s ({n / created[1]:,.0f}/CPU-s)")
    print(
        f"batch upsert, same batch again (unchanged): {n / unchanged[0]:,.0f} records/s ({n / unchanged[1]:,.0f}/CPU-s)"
    )

    for query in ("limit=500", "limit=500&expand=company,owner", "limit=500&ordering=-updated_at"):
        url = f"/api/v1/contacts?{query}"
        client.get(url)  # warm-up
        times = []
        for _ in range(10):
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200
        rows = len(response.json()["results"])
        p50 = statistics.median(times)
        print(f"GET /api/v1/contacts?{query}: {rows} rows, p50 {p50 * 1000:.0f} ms, {rows / p50:,.0f} rows/s")


if __name__ == "__main__":
    main()
