"""Benchmark: web tracking's hit endpoint under `smarketing serve`, beside a no-op Django view on the same server.

    .venv/bin/python bench/ingest_bench.py                    # SQLite, a fresh data directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ingest_bench .venv/bin/python bench/ingest_bench.py

Starts `smarketing serve` (gunicorn: --workers x --threads, its access log off unless --access-log) on a free
loopback port with a fresh data directory and a fresh database: SQLite in that directory, or the PostgreSQL
database of DATABASE_URL, which must be local and have "bench" in its name (it is dropped and created again).
BENCH_NOOP_VIEW=true mounts /bench/noop. Then `wrk` (bounded: --duration seconds, --connections) POSTs with the
same Lua script, after a one-second warm-up each, to:
- baseline: /bench/noop, a view that does nothing, behind Django's whole middleware stack;
- hit: /t/hit, t.js's beacon: an urlencoded text/plain body (a visitor id among 1,000, a URL among 10 pages,
  a title), answered 204 through the fast path (core/fastpath.py) and the ingest spool (core/ingest.py).
It prints requests/s, p50 and p99 of both and the ratio, then stops the server gracefully (SIGTERM) and checks
that nothing was lost: the PageView rows equal the hits the web processes accepted (each logs its count when it
stops), no spool segment is left, and wrk's 2xx answers are at most the rows and at least the rows less the
requests in flight when wrk's time ran out (wrk drops those without reading their answer; at most one per
connection).
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WRK = shutil.which("wrk") or "/usr/bin/wrk"

LUA = r"""
-- The bodies are made once per wrk thread (init), so the client spends its CPU on sending, not on formatting.
local pages = {"/", "/pricing", "/features", "/blog/launch", "/blog/scaling", "/docs", "/docs/api",
               "/customers", "/about", "/contact"}
local requests = {}
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
wrk.headers["Origin"] = "https://www.example.com"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"

init = function(args)
  for n = 0, 999 do
    local body = string.format("vid=benchvisitor%010d&url=https%%3A%%2F%%2Fwww.example.com%s&title=Bench%%20page",
                               n, pages[n % #pages + 1])
    requests[n + 1] = wrk.format(nil, nil, nil, body)
  end
end

request = function()
  counter = counter % #requests + 1
  return requests[counter]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "non_2xx_3xx": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""
NOOP, HIT = "no-op view (/bench/noop)", "tracking hit (/t/hit)"
ENDPOINTS = ((NOOP, "/bench/noop"), (HIT, "/t/hit"))
STOPPED = re.compile(r"ingest: process (\d+) stopped: accepted (\d+), wrote (\d+), replayed (\d+)")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per endpoint (at most 60)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (at most 256)")
    parser.add_argument("--wrk-threads", type=int, default=1, help="1 leaves the most CPU to the server")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--access-log", action="store_true", help="keep serve's access log on (off by default here)")
    parser.add_argument("--keep", action="store_true", help="keep the data directory (its path is printed)")
    args = parser.parse_args()
    args.duration = max(1, min(args.duration, 60))
    args.connections = max(1, min(args.connections, 256))
    return args


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_postgres(url: str) -> None:
    """Drop and create the bench database: only a local one whose name says it is a bench."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if parts.hostname not in ("127.0.0.1", "localhost", "::1") or "bench" not in name:
        sys.exit(f"DATABASE_URL must name a local database with 'bench' in its name (got {parts.hostname}/{name})")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def wait_for(port: int, server: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"smarketing serve stopped at start-up (exit status {server.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    sys.exit("smarketing serve did not listen in time")


def wrk(url: str, script: Path, *, seconds: int, connections: int, threads: int) -> dict:
    threads = min(threads, connections)
    result = subprocess.run(
        [WRK, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        sys.exit(f"wrk gave no result:\n{result.stdout}\n{result.stderr}")
    data = json.loads(line.removeprefix("RESULT "))
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    data["ok"] = data["requests"] - data["non_2xx_3xx"]
    return data


def count_rows(env: dict) -> int:
    code = (
        "import django; django.setup(); from smarketing.forms.models import PageView; print(PageView.objects.count())"
    )
    out = subprocess.run([PYTHON, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def main() -> None:
    args = parse_args()
    data = Path(tempfile.mkdtemp(prefix="smk-ingest-bench-"))
    env = dict(os.environ)
    env.update(
        SMARKETING_DATA_DIR=str(data),
        DJANGO_SETTINGS_MODULE="smarketing.settings",
        PYTHONPATH=str(ROOT),
        BENCH_NOOP_VIEW="true",
        HOME=str(data),  # gunicorn's control socket, if any, stays in here
        # Every hit comes from 127.0.0.1: the per-address limit of the hit endpoint would answer 429 to the bench.
        TRACKING_RATE_PER_MINUTE=str(10**9),
    )
    database = env.get("DATABASE_URL", "")
    if database:
        fresh_postgres(database)
    script = data / "hit.lua"
    script.write_text(LUA)
    port = free_port()
    serve = [PYTHON, "-m", "smarketing", "serve", "--bind", f"127.0.0.1:{port}"]
    serve += ["--workers", str(args.workers), "--threads", str(args.threads)]
    serve += [] if args.access_log else ["--no-access-log"]
    log_path = data / "serve.log"
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"database: {'PostgreSQL' if database else 'SQLite'}; data: {data}")
    log_state = "on" if args.access_log else "off"
    print(f"smarketing serve: {args.workers} workers x {args.threads} threads, access log {log_state}")
    print(f"wrk: {args.wrk_threads} threads, {args.connections} connections, {args.duration} s per endpoint\n")
    with open(log_path, "wb") as log:
        server = subprocess.Popen(serve, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(port, server)
            results, warmups = {}, {}
            for name, path in ENDPOINTS:
                url = f"http://127.0.0.1:{port}{path}"
                options = {"connections": args.connections, "threads": args.wrk_threads}
                warmups[name] = wrk(url, script, seconds=1, **options)
                results[name] = wrk(url, script, seconds=args.duration, **options)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
    log_text = log_path.read_text(errors="replace")
    stopped = [tuple(map(int, m)) for m in STOPPED.findall(log_text)]
    accepted = sum(s[1] for s in stopped)
    rows = count_rows(env)

    columns = ("requests/s", 12), ("p50 ms", 9), ("p99 ms", 9), ("max ms", 9), ("2xx", 9), ("non-2xx", 9), ("errors", 8)
    print(f"{'endpoint':<28}" + "".join(f"{title:>{width}}" for title, width in columns))
    for name, r in results.items():
        errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
        print(
            f"{name:<28}{r['rps']:>12.0f}{r['p50_us'] / 1000:>9.2f}{r['p99_us'] / 1000:>9.2f}"
            f"{r['max_us'] / 1000:>9.1f}{r['ok']:>9}{r['non_2xx_3xx']:>9}{errors:>8}"
        )
    base, hit = results[NOOP], results[HIT]
    print(f"\nratio hit / no-op: {hit['rps'] / base['rps']:.2f}x the requests per second")
    segments = list((data / "ingest").glob("*.seg"))
    rejected = list((data / "ingest" / "rejected").glob("*"))
    print(f"web processes stopped: {len(stopped)}; hits accepted (incl. warm-up): {accepted}; PageView rows: {rows}")
    print(f"spool segments left: {len(segments)}; rejected files: {len(rejected)}")
    answered = warmups[HIT]["ok"] + hit["ok"]  # 2xx answers wrk read, warm-up included (its hits are rows too)
    in_flight = 2 * args.connections  # at most one request per connection dropped at the end of each wrk run
    print(f"2xx answers to /t/hit read by wrk (warm-up included): {answered}")
    lost = accepted - rows
    ok = (
        lost == 0
        and answered <= rows <= answered + in_flight
        and not segments
        and not rejected
        and len(stopped) >= args.workers
    )
    print(f"lost: {lost} of {accepted} accepted ({'OK' if ok else 'FAILED'})")
    target = hit["rps"] >= 2000 and hit["p99_us"] < 50_000
    print(f"target (>= 2,000 hits/s, p99 < 50 ms): {'met' if target else 'NOT met'}")
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
