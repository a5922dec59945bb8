"""Real worker processes for tests: `smarketing worker` subprocesses working on the test database.

Use in a transactional test (TransactionTestCase or django_db(transaction=True)) so the workers see committed
rows. On PostgreSQL the workers connect to the test database (test_<NAME>). On SQLite the test database lives in
memory, where no other process can reach it, so the pool copies it into a file (sqlite3's backup API) before the
workers start, points them at that file, and copies the file back into memory on sync() and when it stops.
There, everything the test writes while workers run must happen between sync() calls of its own making.

    with WorkerPool(2) as pool:      # --batch workers: run what is due, then exit
        pool.wait()
    with WorkerPool(2, batch=False) as pool:
        pool.wait_until(lambda: DBTaskResult.objects.filter(status="FAILED").exists())
"""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

PYTHON = sys.executable

# Imports given modules (e.g. test-only periodic jobs) before running the real `smarketing` command line.
RUNNER = (
    "import importlib, sys, django; django.setup(); "
    "[importlib.import_module(m) for m in sys.argv[1].split(',') if m]; "
    "from smarketing.cli import main; main(['smarketing'] + sys.argv[2:])"
)


def postgres_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s.get("HOST") or "127.0.0.1"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{quote(s['NAME'], safe='')}"


class WorkerPool:
    """`count` worker processes on the test database; a context manager."""

    def __init__(
        self,
        count: int = 2,
        *,
        batch: bool = True,
        interval: float = 0.05,
        env: dict[str, str] | None = None,
        preload: tuple[str, ...] = (),
    ):
        self.count = count
        self.batch = batch
        self.interval = interval
        self.extra_env = env or {}
        self.preload = preload
        self.processes: list[subprocess.Popen] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="smk-workers-"))
        self.sqlite_file: Path | None = None
        self._logs: list = []

    # -- database plumbing -------------------------------------------------------------------------------------
    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env["DJANGO_SETTINGS_MODULE"] = "smarketing.settings"
        env["SECRET_KEY"] = settings.SECRET_KEY
        env["PYTHONUNBUFFERED"] = "1"
        if connection.vendor == "postgresql":
            env["DATABASE_URL"] = postgres_url()
            env.setdefault("SMARKETING_DATA_DIR", str(self.tmp))
        else:
            # The embedded SQLite settings (WAL, IMMEDIATE transactions, busy timeout) on the copied file.
            env["SMARKETING_DATA_DIR"] = str(self.tmp)
            env["DB_CONN_MAX_AGE"] = "0"
        env.update(self.extra_env)
        return env

    def _export_sqlite(self) -> None:
        self.sqlite_file = self.tmp / "smarketing.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(self.sqlite_file)
        try:
            connection.connection.backup(target)
        finally:
            target.close()

    def sync(self) -> None:
        """Make what the workers wrote visible to this process (a no-op on PostgreSQL)."""
        if self.sqlite_file is None:
            return
        source = sqlite3.connect(self.sqlite_file, timeout=20)
        try:
            connection.ensure_connection()
            source.backup(connection.connection)
        finally:
            source.close()

    # -- processes -----------------------------------------------------------------------------------------------
    def start(self) -> "WorkerPool":
        if connection.vendor == "sqlite":
            self._export_sqlite()
        env = self._environment()
        args = ["worker", "--interval", str(self.interval)] + (["--batch"] if self.batch else [])
        for n in range(self.count):
            out = open(self.tmp / f"worker{n}.log", "wb")
            self._logs.append(out)
            self.processes.append(
                subprocess.Popen(
                    [PYTHON, "-c", RUNNER, ",".join(self.preload), *args],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=settings.BASE_DIR.parent,
                )
            )
        return self

    def command(self, *args: str, **popen) -> subprocess.Popen:
        """Start another `smarketing` command (e.g. `import`) on the same database as the workers."""
        return subprocess.Popen(
            [PYTHON, "-c", RUNNER, ",".join(self.preload), *args],
            env=self._environment(),
            cwd=settings.BASE_DIR.parent,
            **popen,
        )

    def logs(self) -> str:
        parts = []
        for n in range(len(self.processes)):
            path = self.tmp / f"worker{n}.log"
            text = path.read_text(errors="replace") if path.exists() else ""
            parts.append(f"--- worker {n} ---\n{text[-4000:]}")
        return "\n".join(parts)

    def wait(self, timeout: float = 60) -> None:
        """Wait for --batch workers to exit; fail with their logs if they do not, or exit with an error."""
        deadline = time.monotonic() + timeout
        for process in self.processes:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                self.stop()
                raise AssertionError(f"workers did not finish within {timeout} s\n{self.logs()}")
        codes = [p.returncode for p in self.processes]
        if any(codes):
            raise AssertionError(f"workers exited with {codes}\n{self.logs()}")
        self.sync()

    def wait_until(self, predicate, timeout: float = 30, poll: float = 0.2) -> None:
        """Poll `predicate()` (after sync()) until it is true; fail with the worker logs on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            self.sync()
            if predicate():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s\n{self.logs()}")
            dead = [p.returncode for p in self.processes if p.poll() is not None]
            if dead and not self.batch:
                raise AssertionError(f"a worker exited early with {dead}\n{self.logs()}")
            time.sleep(poll)

    def kill(self, index: int = 0) -> None:
        """SIGKILL one worker, as a crash would."""
        self.processes[index].send_signal(signal.SIGKILL)
        self.processes[index].wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for handle in self._logs:
            handle.close()
        self._logs = []

    def __enter__(self) -> "WorkerPool":
        return self.start()

    def __exit__(self, *exc) -> None:
        try:
            self.stop()
            self.sync()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
