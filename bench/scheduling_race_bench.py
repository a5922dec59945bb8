"""Benchmark: N concurrent booking requests for one slot (exactly one must win) beside N concurrent GETs of /healthz.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_race .venv/bin/python bench/scheduling_race_bench.py
    ... --url http://127.0.0.1:8000   # against a running `smarketing serve` on the same database, started with
                                      # SCHEDULING_BOOK_RATE_PER_IP=1000000 (every request comes from one address)

Without --url it starts `smarketing serve` (gunicorn, --workers x --threads, as in production) on a free 127.0.0.1
port on the same database; `--server thread` serves with Django's threaded server in this process instead. It
writes a bench host (`bench-race-host@bench.example`, open around the clock) with a personal type `bench-race`,
then per round books the next free slot with --concurrency requests, each on its own new connection, all
sent at once by one asyncio loop (so the client costs next to no CPU on the machine it shares
with the server), each a real HTTP POST to /meet/bench-race/book.json. Prints the booked count (must be 1) and
the other answers, the p50/p95 latency of the bookings beside --concurrency concurrent GETs of /healthz sent the
same way in the same run, and the ratio of the p95s. Target (issue 11): exactly 1 booked, p95 < 300 ms on PostgreSQL.
"""

import argparse
import asyncio
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ARGS = None
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")

ALL_WEEK = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def _one(host: str, port: int, path: str, body: bytes | None, gate: asyncio.Event) -> tuple[int, float]:
    """One HTTP/1.1 request on its own connection, connected and sent when the gate opens."""
    if body is None:
        head = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    else:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
    await gate.wait()
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return 0, (time.perf_counter() - started) * 1000
    try:
        writer.write(head)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=60)
        code = int(status_line.split()[1])
        length = 0
        while (line := await asyncio.wait_for(reader.readline(), timeout=60)) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        # The whole body, as a browser sees it (the server may close the connection a little later).
        await asyncio.wait_for(reader.readexactly(length), timeout=60)
    except (OSError, ValueError, IndexError, TimeoutError, asyncio.IncompleteReadError):
        code = 0
    elapsed = (time.perf_counter() - started) * 1000
    writer.close()
    return code, elapsed


def burst(url: str, count: int, body_of) -> list[tuple[int, float]]:
    """`count` requests sent together, each on its own new connection (one asyncio loop: the client itself costs
    next to no CPU, so what is measured is the server)."""
    parts = urlsplit(url)

    async def run():
        gate = asyncio.Event()
        bodies = [body_of(i) for i in range(count)]
        tasks = [
            asyncio.create_task(
                _one(parts.hostname, parts.port or 80, parts.path, None if b is None else json.dumps(b).encode(), gate)
            )
            for b in bodies
        ]
        await asyncio.sleep(0)  # every task waiting at the gate
        gate.set()
        return await asyncio.gather(*tasks)

    return list(asyncio.run(run()))


def serve_subprocess():
    """`smarketing serve` (gunicorn, --workers x --threads) on a free 127.0.0.1 port, on this database."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, SCHEDULING_BOOK_RATE_PER_IP=str(10**9), HOME=tempfile.mkdtemp(prefix="smk-race-"))
    argv = [sys.executable, "-m", "smarketing", "serve", "--bind", f"127.0.0.1:{port}", "--no-access-log"]
    argv += ["--workers", str(ARGS.workers), "--threads", str(ARGS.threads)]
    server = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"smarketing serve stopped at start-up (exit status {server.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    else:
        server.kill()
        sys.exit("smarketing serve did not listen in time")
    return server, f"http://127.0.0.1:{port}"


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
    parser.add_argument("--url", default="", help="a running server on the same database (default: start one)")
    parser.add_argument(
        "--server",
        choices=("serve", "thread"),
        default="serve",
        help="serve: `smarketing serve` (gunicorn) as a "
        "subprocess; thread: Django's threaded server in this process (one thread per request)",
    )
    # smarketing serve's own defaults (WEB_CONCURRENCY=2, WEB_THREADS=4): what a deployment runs unless tuned.
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    global ARGS
    ARGS = args

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
    server = process = None
    base = args.url.rstrip("/")
    if not base and args.server == "thread":
        server, base = own_server()
    elif not base:
        process, base = serve_subprocess()
    run = uuid.uuid4().hex[:8]
    book_ms, health_ms, codes = [], [], Counter()
    booked_total = 0
    # Round 0 warms the server up and is not timed: each of its threads opens its database connection (kept for
    # DB_CONN_MAX_AGE), which under a burst of 100 costs more than the requests themselves.
    for r in range(args.rounds + 1):
        day = (timezone.now() + timedelta(days=1)).date()
        slot = availability.free_slots(mt, start=day, end=day + timedelta(days=30))[0].starts_at
        before = Meeting.objects.filter(meeting_type=mt, starts_at=slot).count()

        def body_of(i: int, slot=slot, r=r) -> dict:
            return {"name": f"Racer {i}", "email": f"race-{run}-{r}-{i}@bench.example", "start": slot.isoformat()}

        # The baseline first, then the race, each a burst of the same size in the same run.
        health = burst(f"{base}/healthz", args.concurrency, lambda i: None)
        results = burst(f"{base}/meet/bench-race/book.json", args.concurrency, body_of)
        if r > 0:
            health_ms += [ms for _, ms in health]
            book_ms += [ms for _, ms in results]
        codes.update(code for code, _ in results)
        booked = Meeting.objects.filter(meeting_type=mt, starts_at=slot).count() - before
        holds = HostHold.objects.filter(meeting__meeting_type=mt, meeting__starts_at=slot, active=True).count()
        booked_total += booked
        label = f"round {r}{' (warm-up)' if r == 0 else ''}"
        print(f"{label}: slot {slot:%Y-%m-%d %H:%M}Z, booked {booked}, active holds {holds}")
        assert booked == 1 and holds == 1, "double booking or no booking"
    if server is not None:
        server.shutdown()
    if process is not None:
        process.terminate()
        process.wait(timeout=60)
    how = f"smarketing serve {args.workers}x{args.threads}" if process else "threaded server" if server else "given"
    print(f"database: {connection.vendor}; {args.rounds} rounds of {args.concurrency} concurrent requests")
    print(f"server: {base} ({how})")
    print(f"answers: {dict(sorted(codes.items()))} (201 booked, 409 just taken)")
    print(f"booked: {booked_total} of {args.rounds + 1} slots (the warm-up's included)")
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
