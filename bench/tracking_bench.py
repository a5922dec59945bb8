"""Benchmark: the open pixel and the click redirect under `smarketing serve`, beside /healthz on the same server.

    .venv/bin/python bench/tracking_bench.py --requests 20000 --concurrency 32 --workers 2
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trk .venv/bin/python bench/tracking_bench.py

Starts `manage.py serve` (gunicorn, the production server, its access log on) on a free loopback port, with a
fresh SQLite database in a temporary data directory unless DATABASE_URL is set; creates one campaign with
1,000 sent recipients and three links; then a concurrent HTTP/1.1 keep-alive client (asyncio, in this process)
sends a bounded number of requests to:
- baseline: /healthz, the cheapest Django view there is (two small queries, the whole middleware stack);
- pixel: /e/o/<signed token>.gif, across the 1,000 recipients;
- click: /e/c/<signed token>/<n>, across recipients and links.
Prints requests/s, p50 and p99 latency of each, and checks that nothing was lost: the TrackingHit rows equal
the pixel and click requests answered (200 / 302). Then times the job that turns the hits into counts and
touchpoints (email/tracking.py) and checks the counters add up. The bench's rows are removed afterwards.
TRACKING_BENCH_LOG=<file> keeps the server's output (tracebacks of any 500) in that file.
"""

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smarketing.settings")

UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605"
CAMPAIGN_NAME = "tracking-bench"
RECIPIENTS = 1000
LINKS = 3


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000, help="requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=32, help="client connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_data() -> list[tuple[str, int]]:
    """One campaign, RECIPIENTS sent sends, LINKS links; returns (signed token, send id) pairs."""
    from django.utils import timezone

    from smarketing.campaigns.models import Campaign, Channel
    from smarketing.email import tokens
    from smarketing.email.models import EmailCampaign, EmailLink, EmailSend

    cleanup()
    campaign = Campaign.objects.create(name=CAMPAIGN_NAME, channel=Channel.EMAIL)
    ec = EmailCampaign.objects.create(campaign=campaign, subject="Bench", status="sent")
    EmailLink.objects.bulk_create(
        [EmailLink(campaign=ec, position=n, url=f"https://example.com/page-{n}") for n in range(1, LINKS + 1)]
    )
    sent_at = timezone.now() - timezone.timedelta(hours=1)
    EmailSend.objects.bulk_create(
        [
            EmailSend(
                campaign=ec,
                contact=None,
                email=f"bench{i}@example.com",
                token=tokens.new_send_token(),
                status="sent",
                sent_at=sent_at,
            )
            for i in range(RECIPIENTS)
        ]
    )
    return [(tokens.sign(s.token), s.pk) for s in EmailSend.objects.filter(campaign=ec).only("token", "id")]


def cleanup() -> None:
    from smarketing.campaigns.models import Campaign

    # Sends, links and hits go with the campaign (CASCADE).
    Campaign.objects.filter(name=CAMPAIGN_NAME).delete()


async def run_client(port: int, paths: list[str], concurrency: int) -> tuple[list[int], list[float], float]:
    """Send every path once over `concurrency` keep-alive connections; (statuses, latencies, wall seconds)."""
    queue = iter(paths)
    statuses: list[int] = []
    latencies: list[float] = []

    async def connection_loop():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for path in queue:
                request = (
                    f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {UA}\r\nAccept: */*\r\n\r\n"
                ).encode()
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                close = False
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value.strip())
                    elif name == b"connection" and value.strip().lower() == b"close":
                        close = True
                if length:
                    await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                statuses.append(status)
                if close:
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection_loop() for _ in range(concurrency)))
    return statuses, latencies, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def measure(label: str, port: int, paths: list[str], concurrency: int) -> tuple[dict, list[int]]:
    statuses, latencies, wall = asyncio.run(run_client(port, paths, concurrency))
    result = {
        "label": label,
        "requests": len(statuses),
        "rate": len(statuses) / wall,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }
    codes = {}
    for code in statuses:
        codes[code] = codes.get(code, 0) + 1
    print(
        f"{label:9} {result['requests']:>7} requests  {result['rate']:>8.0f}/s  p50 {result['p50_ms']:6.1f} ms  "
        f"p99 {result['p99_ms']:6.1f} ms  statuses {codes}",
        flush=True,
    )
    return result, statuses


def main():
    args = parse_args()
    temp_dir = None
    if not os.environ.get("DATABASE_URL"):
        temp_dir = tempfile.mkdtemp(prefix="tracking-bench-")
        os.environ["SMARKETING_DATA_DIR"] = temp_dir
    os.environ.setdefault("SMARKETING_DATA_DIR", str(ROOT / "var" / "bench"))
    # The limit guards the public endpoints per client address; the bench is one address sending on purpose.
    os.environ["EMAIL_TRACKING_RATE_PER_MINUTE"] = str(10 * args.requests + 1000)
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    from smarketing.email import links, tracking
    from smarketing.email.models import EmailLink, EmailSend, TrackingHit

    recipients = setup_data()
    connection.close()  # SQLite: let the server's processes write

    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own manage.py
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
        ],
        env=os.environ.copy(),
        stdout=open(os.environ.get("TRACKING_BENCH_LOG", os.devnull), "ab"),
        stderr=open(os.environ.get("TRACKING_BENCH_LOG", os.devnull), "ab"),
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.3)
        print(
            f"smarketing serve: {args.workers} workers x 4 threads, {connection.vendor}, "
            f"{args.requests} requests per endpoint over {args.concurrency} connections",
            flush=True,
        )
        n = args.requests
        measure("warm-up", port, ["/healthz"] * 500 + [links.OPEN_PATH.format("x" * 54)] * 500, args.concurrency)
        baseline, _ = measure("healthz", port, ["/healthz"] * n, args.concurrency)
        pixel_paths = [links.OPEN_PATH.format(recipients[i % RECIPIENTS][0]) for i in range(n)]
        pixel, pixel_statuses = measure("pixel", port, pixel_paths, args.concurrency)
        click_paths = [
            links.CLICK_PATH.format(recipients[i % RECIPIENTS][0], 1 + (i // RECIPIENTS) % LINKS) for i in range(n)
        ]
        click, click_statuses = measure("click", port, click_paths, args.concurrency)
    finally:
        server.terminate()
        server.wait(timeout=30)

    answered = pixel_statuses.count(200) + click_statuses.count(302)
    hits = TrackingHit.objects.filter(send__campaign__campaign__name=CAMPAIGN_NAME).count()
    lost = answered - hits
    print(f"answered {answered} (pixel 200 + click 302), TrackingHit rows {hits}: lost {lost}")
    for result in (pixel, click):
        print(
            f"{result['label']}: {result['rate'] / baseline['rate']:.2f}x the rate of /healthz; "
            f"target >= 2000/s: {'ok' if result['rate'] >= 2000 else 'MISSED'}, "
            f"p99 < 50 ms: {'ok' if result['p99_ms'] < 50 else 'MISSED'}"
        )

    # The hits become facts in the background; HOLD_BACK keeps the newest few seconds for the next run.
    time.sleep(tracking.HOLD_BACK.total_seconds() + 0.5)
    started = time.perf_counter()
    processed = tracking.process_pending()
    seconds = time.perf_counter() - started
    sends = EmailSend.objects.filter(campaign__campaign__name=CAMPAIGN_NAME)
    opens = sum(s.opens + s.machine_opens for s in sends.only("opens", "machine_opens"))
    link_clicks = sum(
        link.clicks + link.machine_clicks
        for link in EmailLink.objects.filter(campaign__campaign__name=CAMPAIGN_NAME).only("clicks", "machine_clicks")
    )
    print(
        f"processor: {processed} hits in {seconds:.1f} s ({processed / seconds:.0f} hits/s); "
        f"opens counted {opens} of {pixel_statuses.count(200)}, "
        f"link clicks {link_clicks} of {click_statuses.count(302)}"
    )
    cleanup()
    if temp_dir:
        shutil.rmtree(temp_dir, ignore_errors=True)
    if lost or opens != pixel_statuses.count(200) or link_clicks != click_statuses.count(302):
        raise SystemExit("events were lost")


if __name__ == "__main__":
    main()
