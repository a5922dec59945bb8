"""The test suite's own rules (pyproject.toml): a test whose thread crashed fails instead of passing."""

import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.test import SimpleTestCase

PYPROJECT = Path(settings.BASE_DIR).parent / "pyproject.toml"

CRASHING_THREAD = """
import threading


def test_a_concurrent_step_crashes():
    def step():
        raise RuntimeError("the concurrent delete failed")

    thread = threading.Thread(target=step)
    thread.start()
    thread.join()
"""


def run_pytest(test_file: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(PYPROJECT),
            "--rootdir",
            str(test_file.parent),
            "-q",
            "-p",
            "no:randomly",
            *options,
            str(test_file),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


class ThreadExceptionRuleTests(SimpleTestCase):
    def test_an_unhandled_exception_in_a_thread_fails_the_test(self):
        with tempfile.TemporaryDirectory() as folder:
            test_file = Path(folder) / "test_crash.py"
            test_file.write_text(CRASHING_THREAD)
            strict = run_pytest(test_file)
            lenient = run_pytest(test_file, "-o", "filterwarnings=")  # without the project's rule
        self.assertEqual(strict.returncode, 1, strict.stdout)
        self.assertIn("1 failed", strict.stdout)
        self.assertIn("PytestUnhandledThreadExceptionWarning", strict.stdout)
        self.assertEqual(lenient.returncode, 0, lenient.stdout)  # what let such a test pass before
        self.assertIn("1 passed", lenient.stdout)


class SqliteTableLockRetryTests(SimpleTestCase):
    """conftest.py retries SQLite's shared-cache "table is locked" (the in-memory test database), nothing else."""

    databases = {"default"}

    def test_a_locked_statement_is_retried_and_other_errors_are_not(self):
        from django.db import OperationalError, connection

        import conftest

        if connection.vendor == "sqlite":
            connection.ensure_connection()
            self.assertIn(conftest._retry_locked, connection.execute_wrappers)
        calls = []

        def flaky(sql, params, many, context):
            calls.append(sql)
            if len(calls) < 3:
                raise OperationalError("database table is locked: forms_visitor")
            return "done"

        self.assertEqual(conftest._retry_locked(flaky, "UPDATE x", [], False, {}), "done")
        self.assertEqual(len(calls), 3)

        def broken(sql, params, many, context):
            calls.append(sql)
            raise OperationalError("no such table: x")

        calls.clear()
        with self.assertRaises(OperationalError):
            conftest._retry_locked(broken, "SELECT 1", [], False, {})
        self.assertEqual(len(calls), 1)
