"""Nothing lost on a crash: a real gunicorn (the command line and hooks of `smarketing serve`) accepts hits, its
processes are SIGKILLed before anything was written, and the next start writes each hit exactly once."""

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import TransactionTestCase

from smarketing.core.management.commands import serve
from smarketing.core.tests.ingest_server import TABLE
from smarketing.jobs.testing import RUNNER, WorkerPool

HITS = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


class Server:
    """A gunicorn on a free loopback port, on the pool's database and data directory."""

    def __init__(self, pool: WorkerPool, *, interval_ms: int, workers: int = 2, real_serve: bool = False):
        self.bind = f"127.0.0.1:{free_port()}"
        env = pool._environment()
        env.update(INGEST_INTERVAL_MS=str(interval_ms), INGEST_REPLAY_SECONDS="3600", INGEST_BATCH="100000")
        env.update(SMARKETING_DATA_DIR=str(pool.tmp), HOME=str(pool.tmp), TRACKING_RATE_PER_MINUTE="1000000")
        self.log_path = pool.tmp / "server.log"
        self.log = open(self.log_path, "ab")
        if real_serve:  # `smarketing serve` itself (it execs gunicorn: the pid stays the master's)
            argv = [sys.executable, "-c", RUNNER, "", "serve", "--bind", self.bind, "--workers", str(workers)]
            argv += ["--no-migrate", "--no-access-log"]
        else:
            argv = serve.gunicorn_argv(self.bind, workers, app="smarketing.core.tests.ingest_server:application")
        self.process = subprocess.Popen(
            argv, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR.parent
        )
        try:
            serve.wait_until_serving(self.process, self.bind, timeout=120)
        except Exception as exc:
            self.stop()
            raise AssertionError(f"{exc}\n{self.log_path.read_text()[-3000:]}")
        self.port = int(self.bind.rsplit(":", 1)[1])

    def get(self, path: str, body: bytes | None = None) -> int:
        # A new connection per request, so the hits spread over the workers.
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            headers = {"Connection": "close", "Content-Type": "text/plain;charset=UTF-8"}
            conn.request("POST" if body else "GET", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    def crash(self) -> None:
        """SIGKILL every worker, then the master, without letting the master start new workers in between."""
        master = self.process.pid
        os.kill(master, signal.SIGSTOP)
        for pid in children(master):
            os.kill(pid, signal.SIGKILL)
        os.kill(master, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        """A graceful stop (SIGTERM): the workers deliver what they hold as they exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        self.log.close()


@pytest.mark.worker
class CrashTests(TransactionTestCase):
    def setUp(self):
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE {TABLE} (hit_id varchar(32) NOT NULL, n integer NOT NULL, pid integer)")
        self.pool = WorkerPool(0).start()  # no job workers: only the database plumbing (SQLite exported to a file)
        self.spool = self.pool.tmp / "ingest"

    def tearDown(self):
        self.pool.__exit__(None, None, None)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {TABLE}")

    def rows(self) -> tuple[int, int]:
        self.pool.sync()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*), COUNT(DISTINCT hit_id) FROM {TABLE}")
            return cursor.fetchone()

    def wait_for_rows(self, expected: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.rows()[0] < expected and time.monotonic() < deadline:
            time.sleep(0.3)

    def test_hits_accepted_before_a_sigkill_are_written_exactly_once_after_the_restart(self):
        server = Server(self.pool, interval_ms=600_000)  # the flusher will not write before the crash
        try:
            statuses = [server.get(f"/test/ingest?n={n}") for n in range(HITS)]
        except BaseException:
            server.stop()
            raise
        self.assertEqual(statuses, [204] * HITS)
        self.assertEqual(self.rows(), (0, 0), "answered before writing")
        server.crash()
        segments = list(self.spool.glob("*.seg"))
        self.assertGreaterEqual(len(segments), 1, "the hits are in the spool of the killed workers")
        self.assertEqual(sum(len(p.read_bytes().splitlines()) for p in segments), HITS)

        # Two new workers boot at once and both look for dead segments: the locks let each be replayed once.
        server = Server(self.pool, interval_ms=100)
        try:
            self.wait_for_rows(HITS)
            self.assertEqual(self.rows(), (HITS, HITS), "none lost, none twice")
            more = [server.get(f"/test/ingest?n={n}") for n in range(HITS, HITS + 50)]
        finally:
            server.stop()
        self.assertEqual(more, [204] * 50)
        self.assertEqual(self.rows(), (HITS + 50, HITS + 50), "a graceful stop delivers what was buffered")
        self.assertEqual(list(self.spool.glob("*.seg")), [], "every segment written and deleted")

    def test_a_graceful_stop_delivers_what_the_workers_hold(self):
        server = Server(self.pool, interval_ms=600_000)
        try:
            statuses = [server.get(f"/test/ingest?n={n}") for n in range(100)]
            self.assertEqual(self.rows(), (0, 0))
        finally:
            server.stop()
        self.assertEqual(statuses, [204] * 100)
        self.assertEqual(self.rows(), (100, 100))
        self.assertEqual(list(self.spool.glob("*.seg")), [])


def web_tracking_installed() -> bool:
    try:
        from smarketing.forms.tracking import parse_hit  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.worker
@pytest.mark.skipif(not web_tracking_installed(), reason="web tracking (forms/tracking) is not installed")
class PageViewCrashTests(TransactionTestCase):
    """The same crash through the real thing: `smarketing serve`, t.js's beacon on /t/hit (the fast path, parse_hit,
    the page_view stream) and PageView rows."""

    def setUp(self):
        self.pool = WorkerPool(0).start()

    def tearDown(self):
        self.pool.__exit__(None, None, None)

    def page_views(self) -> int:
        from smarketing.forms.models import PageView

        self.pool.sync()
        return PageView.objects.count()

    def test_beacons_accepted_before_a_sigkill_become_page_views_exactly_once(self):
        def beacon(n: int) -> bytes:
            return f"vid=crashvisitor{n % 7:08d}&url=https%3A%2F%2Fwww.example.com%2Fp{n}&title=P{n}".encode()

        server = Server(self.pool, interval_ms=600_000, real_serve=True)
        try:
            statuses = [server.get("/t/hit", beacon(n)) for n in range(120)]
        except BaseException:
            server.stop()
            raise
        self.assertEqual(statuses, [204] * 120)
        self.assertEqual(self.page_views(), 0, "answered before writing")
        server.crash()

        server = Server(self.pool, interval_ms=100, real_serve=True)
        try:
            deadline = time.monotonic() + 60
            while self.page_views() < 120 and time.monotonic() < deadline:
                time.sleep(0.3)
        finally:
            server.stop()
        self.assertEqual(self.page_views(), 120, "none lost, none twice")
        from smarketing.forms.models import PageView

        self.assertEqual(PageView.objects.filter(path="/p7").count(), 1)
