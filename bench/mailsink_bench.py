"""How fast `smarketing mailsink` takes mail, beside a bare aiosmtpd server in the same run.

    .venv/bin/python bench/mailsink_bench.py [--messages 5000] [--connections 2]

Starts three servers one after the other, each a subprocess on a free loopback port:
- baseline: aiosmtpd with a handler that does nothing (the protocol alone);
- `smarketing mailsink --discard` (counts only: what the send bench uses);
- `smarketing mailsink` (keeps every message in the database, SQLite in a temporary data directory unless
  DATABASE_URL is set).
Each gets the same 6 KB multipart message `--messages` times over `--connections` smtplib connections (one
thread each), and the rate is messages per second from the first MAIL FROM to the last 250. The kept mode
also waits until every message is in the database and reports that rate too.
"""

import argparse
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = (
    "import asyncio, sys\n"
    "from aiosmtpd.smtp import SMTP\n"
    "class H:\n"
    "    async def handle_DATA(self, server, session, envelope):\n"
    "        return '250 OK'\n"
    "loop = asyncio.new_event_loop()\n"
    "server = loop.run_until_complete(loop.create_server(lambda: SMTP(H()), '127.0.0.1', int(sys.argv[1])))\n"
    "print('listening', flush=True)\n"
    "loop.run_forever()\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def message() -> bytes:
    m = EmailMessage()
    m["From"] = "Maya at Acme <maya@acme.example>"
    m["To"] = "pat@example.com"
    m["Subject"] = "December news"
    m["Message-ID"] = "<bench@acme.example>"
    m.set_content("Hello Pat, here is our December news. " * 60)
    m.add_alternative("<p>Hello <b>Pat</b>, here is our December news.</p>\n" * 60, subtype="html")
    return m.as_bytes().replace(b"\n", b"\r\n")


def wait_listening(proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode}")
            time.sleep(0.1)
    raise SystemExit("server did not start")


def blast(port: int, total: int, connections: int, raw: bytes) -> float:
    per = total // connections

    def run():
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for _ in range(per):
                smtp.sendmail("bounces@acme.example", ["pat@example.com"], raw)

    threads = [threading.Thread(target=run) for _ in range(connections)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return per * connections / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=2)
    args = parser.parse_args()
    raw = message()
    data = tempfile.mkdtemp(prefix="mailsink-bench-")
    env = {**os.environ, "SMARKETING_DATA_DIR": os.environ.get("SMARKETING_DATA_DIR", data), "PYTHONUNBUFFERED": "1"}
    smk = [sys.executable, "-m", "smarketing"]
    subprocess.run([*smk, "migrate", "-v0"], env=env, check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
    print(f"{args.messages} messages of {len(raw)} bytes over {args.connections} connections")
    results = {}
    for name, argv in (
        ("aiosmtpd, no-op handler (baseline)", [sys.executable, "-c", BASELINE]),
        ("smarketing mailsink --discard", [*smk, "mailsink", "--discard", "--bind"]),
        ("smarketing mailsink (keeps messages)", [*smk, "mailsink", "--bind"]),
    ):
        port = free_port()
        target = [*argv, str(port)] if "-c" in argv else [*argv, f"127.0.0.1:{port}"]
        proc = subprocess.Popen(target, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_listening(proc, port)
            blast(port, 200, 1, raw)  # warm-up
            rate = blast(port, args.messages, args.connections, raw)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
        results[name] = rate
        print(f"  {name:<40} {rate:8.0f} msg/s")
    base = results["aiosmtpd, no-op handler (baseline)"]
    for name, rate in results.items():
        print(f"  ratio {name:<34} {rate / base:5.2f}x baseline")


if __name__ == "__main__":
    main()
