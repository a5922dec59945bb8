"""Tasks run by real worker processes in the tests. Each records its runs by appending a line to a file.

A line is written with one O_APPEND write, so lines from concurrent processes never interleave.
"""

import os
import time
from datetime import timedelta

from django_tasks import task

from smarketing.jobs.periodic import periodic
from smarketing.jobs.retry import retrying


def _record(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{line}\n".encode())
    finally:
        os.close(fd)


def runs(path: str) -> list[str]:
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return fh.read().splitlines()


@task()
def record(path: str, key: int, pause: float = 0.0) -> int:
    if pause:
        time.sleep(pause)
    _record(path, f"{key} {os.getpid()}")
    return key


@task()
def sleep_for(seconds: float) -> None:
    time.sleep(seconds)


@task()
@retrying(on=(ConnectionError,), max_attempts=3, base=timedelta(seconds=0.5), factor=2)
def always_down(path: str) -> None:
    _record(path, f"attempt {time.time()}")
    raise ConnectionError("upstream is down")


@task()
@retrying(on=(ConnectionError,), max_attempts=5, base=timedelta(seconds=0.3), factor=2)
def down_twice(path: str) -> str:
    _record(path, f"attempt {time.time()}")
    if len(runs(path)) <= 2:
        raise ConnectionError("upstream is down")
    return "ok"


@task()
@retrying(on=(ConnectionError,), max_attempts=5)
def broken(path: str) -> None:
    _record(path, "attempt")
    raise ValueError("a bug, not a transient failure")


@periodic(every=timedelta(hours=1))
@task()
def hourly_probe() -> None:
    if os.environ.get("JOBS_TEST_OUTPUT"):  # only the periodic test's workers set it
        _record(os.environ["JOBS_TEST_OUTPUT"], f"probe {os.getpid()}")
