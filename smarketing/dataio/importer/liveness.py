"""Is the process running an import still alive? A lock it holds while it runs, which dies with it.

A heartbeat can only say "silent for a while": to tell a dead importer from a slow one it must wait out a
window, and a resume straight after a crash is refused meanwhile. A lock that the operating system or the
database releases when the process dies answers at once, even after `kill -9`:

- PostgreSQL: a session advisory lock (`pg_try_advisory_lock(RUN_LOCK, import id)`) on a connection of its own
  that stays idle while the import runs. When the process dies its socket closes, the server ends the session
  and the lock is gone; any process on any machine can ask.
- SQLite: an exclusive `flock` on a file beside the uploads (`import-locks/<id>.lock` in the media directory).
  The kernel drops it when the process dies. SQLite runs on one machine, so every process that could run an
  import sees it.

Whoever holds the lock is the one process that may run the import; `runner.claim` takes an import only while
holding it. `alive()` asks without taking anything (the import list asks for a page of imports at once).
"""

import fcntl
import os
import socket
import time
from pathlib import Path

from django.conf import settings
from django.db import connection, connections

RUN_LOCK = 0x5D17_0002  # first key of the advisory lock; the second is the import's id


def describe_process() -> str:
    return f"{socket.gethostname()[:150]} {os.getpid()}"


def _lock_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "import-locks"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _lock_file(pk: int) -> Path:
    return _lock_dir() / f"{int(pk)}.lock"


def _key(pk: int) -> int:
    return int(pk) % 2**31  # the advisory lock's second key is an int4


class RunLock:
    """The lock of one import, held by this process while it runs it. Release it when the run ends."""

    def __init__(self, pk: int, handle):
        self.pk, self._handle = pk, handle

    @classmethod
    def acquire(cls, pk: int, *, wait: float = 0) -> "RunLock | None":
        """Take the lock, or None while another process holds it (trying again for up to `wait` seconds)."""
        deadline = time.monotonic() + wait
        while True:
            handle = _try_postgres(pk) if connection.vendor == "postgresql" else _try_file(pk)
            if handle is not None:
                return cls(pk, handle)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.2)

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        if connection.vendor == "postgresql":
            try:
                with handle.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [RUN_LOCK, _key(self.pk)])
            finally:
                handle.close()  # closing the session would release it anyway
        else:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()


def _try_postgres(pk: int):
    # Its own connection: the import's connections open and close transactions (and the pipeline's threads close
    # theirs), while the lock must live exactly as long as the process runs the import.
    lock_connection = connections.create_connection(connection.alias)
    try:
        with lock_connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [RUN_LOCK, _key(pk)])
            taken = cursor.fetchone()[0]
    except BaseException:
        lock_connection.close()
        raise
    if not taken:
        lock_connection.close()
        return None
    return lock_connection


def _try_file(pk: int):
    handle = open(_lock_file(pk), "a+b")  # noqa: SIM115 - held open for the whole run, closed by release()
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def alive(pks) -> set[int]:
    """Which of these imports a living process is running right now (one query on PostgreSQL)."""
    pks = [int(pk) for pk in pks]
    if not pks:
        return set()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = %s "
                "AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND objid::bigint = ANY(%s)",
                [RUN_LOCK, [_key(pk) for pk in pks]],
            )
            held = {row[0] for row in cursor.fetchall()}
        return {pk for pk in pks if _key(pk) in held}
    running = set()
    for pk in pks:
        path = _lock_file(pk)
        if not path.exists():
            continue
        with open(path, "a+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                running.add(pk)
            else:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return running


def forget(pk: int) -> None:
    """Remove a finished or discarded import's lock file (nothing runs it any more)."""
    if connection.vendor != "postgresql":
        _lock_file(pk).unlink(missing_ok=True)
