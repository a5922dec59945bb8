"""Benchmark: N concurrent booking requests for one slot (exactly one must win) beside N concurrent GETs of /healthz.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_race .venv/bin/python bench/scheduling_race_bench.py
    ... --url http://127.0.0.1:8000   # against a running `smarketing serve` on the same database, started with
                                      # SCHEDULING_BOOK_RATE_PER_IP=1000000 (every request comes from one address)

Without --url it serves the app itself on 127.0.0.1 (Django's threaded WSGI server, one thread and one database
connection per request, a listen backlog of 256 so the burst is not measured as SYN retries). It writes a bench
host (`bench-race-host@bench.example`, open around the clock) with a personal type `bench-race`, then per round
books the next free slot with --concurrency threads released together by a barrier, each a real HTTP POST to
/meet/bench-race/book.json from another address. Prints the booked count (must be 1) and the other answers, the
p50/p95 latency of the bookings beside --concurrency concurrent GETs of /healthz released the same way in the same
run, and the ratio of the p95s. Target (issue 11): exactly 1 booked, p95 < 300 ms on PostgreSQL.
"""

import argparse
import json
import logging
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")

ALL_WEEK = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def request(url: str, body: dict | None) -> tuple[int, float]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})  # noqa: S310
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=60) as response:  # noqa: S310 - 127.0.0.1 or the given URL
            response.read()
            code = response.status
    except urllib.error.HTTPError as exc:
        exc.read()
        code = exc.code
    except OSError:
        code = 0
    return code, (time.perf_counter() - started) * 1000


def burst(url: str, count: int, body_of) -> list[tuple[int, float]]:
    """`count` requests released together; every thread joined."""
    barrier = threading.Barrier(count)
    results: list[tuple[int, float]] = []
    lock = threading.Lock()

    def one(i: int):
        body = body_of(i)
        barrier.wait(timeout=60)
        outcome = request(url, body)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return results


def own_server():
    """The app on a free 127.0.0.1 port in this process (threaded), with a backlog that takes the burst."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    class Server(ThreadedWSGIServer):
        request_queue_size = 256

    server = Server(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False, connections_override=None)
    server.set_app(WSGIHandler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", default="", help="a running server on the same database (default: serve here)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from smarketing.accounts.models import User
    from smarketing.scheduling import availability
    from smarketing.scheduling.models import HostHold, Meeting, MeetingType

    logging.getLogger("django.request").setLevel(logging.ERROR)  # 99 "Conflict" warnings a round are the point
    settings.SCHEDULING_BOOK_RATE_PER_IP = 10**9  # one client address sends the whole burst
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    host = User.objects.filter(email="bench-race-host@bench.example").first()
    if host is None:
        host = User.objects.create_user("bench-race-host@bench.example", full_name="Bench Host")
    host.working_hours, host.time_zone = ALL_WEEK, "UTC"
    host.save(update_fields=["working_hours", "time_zone"])
    mt, _ = MeetingType.objects.get_or_create(
        slug="bench-race",
        defaults={"name": "Bench race", "owner": host, "durations": [30], "min_notice": 0, "max_days_ahead": 365},
    )
    server = None
    base = args.url.rstrip("/")
    if not base:
        server, base = own_server()
    run = uuid.uuid4().hex[:8]
    book_ms, health_ms, codes = [], [], Counter()
    booked_total = 0
    for r in range(args.rounds):
        day = (timezone.now() + timedelta(days=1)).date()
        slot = availability.free_slots(mt, start=day, end=day + timedelta(days=30))[0].starts_at
        before = Meeting.objects.filter(meeting_type=mt, starts_at=slot).count()

        def body_of(i: int, slot=slot, r=r) -> dict:
            return {"name": f"Racer {i}", "email": f"race-{run}-{r}-{i}@bench.example", "start": slot.isoformat()}

        # The baseline first, then the race, each a burst of the same size in the same run.
        health = burst(f"{base}/healthz", args.concurrency, lambda i: None)
        results = burst(f"{base}/meet/bench-race/book.json", args.concurrency, body_of)
        health_ms += [ms for _, ms in health]
        book_ms += [ms for _, ms in results]
        codes.update(code for code, _ in results)
        booked = Meeting.objects.filter(meeting_type=mt, starts_at=slot).count() - before
        holds = HostHold.objects.filter(meeting__meeting_type=mt, meeting__starts_at=slot, active=True).count()
        booked_total += booked
        print(f"round {r + 1}: slot {slot:%Y-%m-%d %H:%M}Z, booked {booked}, active holds {holds}")
        assert booked == 1 and holds == 1, "double booking or no booking"
    if server is not None:
        server.shutdown()
    print(f"database: {connection.vendor}; {args.rounds} rounds of {args.concurrency} concurrent requests; {base}")
    print(f"answers: {dict(sorted(codes.items()))} (201 booked, 409 just taken)")
    print(f"booked: {booked_total} of {args.rounds} slots")
    print(f"{'':28}{'p50 ms':>10}{'p95 ms':>10}")
    print(f"{'book.json (one slot)':28}{statistics.median(book_ms):10.1f}{percentile(book_ms, 0.95):10.1f}")
    print(f"{'GET /healthz (baseline)':28}{statistics.median(health_ms):10.1f}{percentile(health_ms, 0.95):10.1f}")
    print(f"ratio of p95s: {percentile(book_ms, 0.95) / percentile(health_ms, 0.95):.1f}x")
    try:
        print(f"load average: {os.getloadavg()[0]:.2f}")
    except OSError:
        pass


if __name__ == "__main__":
    main()
