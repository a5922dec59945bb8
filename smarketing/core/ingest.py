"""Ingestion of public hits (web tracking page views, and later other high-volume public endpoints).

The contract the pillars use:

    register_stream("page_view", handler)   # in AppConfig.ready(); handler(records: list[dict]) -> None
    accept("page_view", record)             # from a public endpoint: returns at once
    flush()                                 # write what is buffered now (tests, shutdown)

`accept()` answers before the database is written. The record (a dict of JSON values; times as ISO strings or
epoch numbers) gets a `hit_id` if it has none, and is:
1. appended as one JSON line to this process's current *spool segment*, a file under INGEST_DIR, with exactly one
   write(): once write() has returned, a crash (or SIGKILL) of the process loses nothing, the line is the kernel's;
2. kept in memory, so the normal path never reads the file back.
A flusher thread (one per process) takes the segment every INGEST_INTERVAL_MS, or at once at INGEST_BATCH records:
later records go to a new segment, the taken one's records are handed to each stream's handler in transactions of
at most INGEST_BATCH records, and then its file is deleted.

A segment is locked (fcntl.flock) by the process writing it for as long as that process has it open, and the kernel
releases the lock when the process dies. A `.seg` file whose lock is free therefore belongs to no one: its process
died, or its delivery failed. Any process may replay it (`replay()`): each flusher when it starts and every
INGEST_REPLAY_SECONDS, and the periodic job `core.tasks.replay_ingest_spool` in the workers. A crash after the
handler committed but before the file was deleted replays records that are already written, so handlers must be
idempotent on `hit_id` (the page-view writer ignores a hit_id it has).

fsync: not by default (INGEST_FSYNC=false). Records are delivered within INGEST_INTERVAL_MS, and the database's own
commit makes them durable then; what a crash of the *machine* (power loss, kernel panic) can lose is the records
accepted but not yet delivered, still only in the page cache: normally the last INGEST_INTERVAL_MS or so, up to
the kernel's write-back delay (about 30 s) while the database is down. INGEST_FSYNC=true makes every accept() wait
for fdatasync(): nothing acknowledged is lost even then, at the disk's latency per hit.

The database being unavailable is not an error for the caller: the flusher leaves the segment on disk, backs off
(0.5 s doubling to 30 s), keeps appending to disk only, and replays when the database answers. A record that a
handler refuses (any other exception) is isolated by writing the batch one record at a time; the refused ones go,
with the error, to INGEST_DIR/rejected/ and the log, never silently away.

INGEST_SYNC=true (the test suite's default, see conftest.py) bypasses all this: accept() calls the handler at once,
in the caller's transaction.
"""

import atexit
import fcntl
import itertools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connections, transaction

logger = logging.getLogger(__name__)

Handler = Callable[[list[dict]], None]
Entry = tuple[str, dict]  # (stream name, record)

_STREAMS: dict[str, Handler] = {}

SEGMENT = ".seg"
PARTIAL = ".tmp"  # a segment being created: not yet locked, so never replayed
MAX_RECORD_BYTES = 64 * 1024  # one line of a segment; public endpoints cap their fields far below this
# The database cannot be reached (down, restarting, SQLite busy past its timeout): try again later, lose nothing.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
_names = itertools.count()


def register_stream(name: str, handler: Handler) -> None:
    if name in _STREAMS and _STREAMS[name] is not handler:
        raise RuntimeError(f"Two ingest streams are called {name!r}")
    _STREAMS[name] = handler


def accept(name: str, record: dict) -> None:
    if name not in _STREAMS:
        raise KeyError(f"No ingest stream is called {name!r}")
    record.setdefault("hit_id", uuid.uuid4().hex)
    if settings.INGEST_SYNC:
        _STREAMS[name]([record])
        return
    _process_spool().append(name, record)


def flush() -> None:
    """Write whatever is buffered now, in the calling thread (tests, shutdown). Raises if the database is down
    (the records stay on disk and are replayed)."""
    if _spool is not None and _spool.pid == os.getpid():
        _spool.flush()


def start() -> None:
    """Start this process's flusher now (it replays dead segments first) instead of at the first accept():
    the web server calls it when a worker boots (gunicorn's post_worker_init, serve_conf.py)."""
    _process_spool().start()


def shutdown(timeout: float = 10.0) -> None:
    """Stop the flusher and deliver what is buffered; on failure the segment stays for replay. Idempotent."""
    if _spool is not None and _spool.pid == os.getpid():
        _spool.shutdown(timeout)


def replay(directory: Path | None = None) -> int:
    """Deliver every dead segment in `directory` (default INGEST_DIR); returns the records replayed."""
    return _replay(Path(directory or settings.INGEST_DIR), settings.INGEST_BATCH)


# -- delivery ------------------------------------------------------------------------------------------------------


class UnknownStream(Exception):
    """A spooled record names a stream no app registered (an app removed since): it is rejected, not lost."""


def _write(entries: list[Entry]) -> None:
    by_stream: dict[str, list[dict]] = {}
    for stream, record in entries:
        by_stream.setdefault(stream, []).append(record)
    with transaction.atomic():
        for stream, records in by_stream.items():
            handler = _STREAMS.get(stream)
            if handler is None:
                raise UnknownStream(stream)
            handler(records)


def deliver(entries: Iterable[Entry], batch: int) -> list[tuple[Entry, str]]:
    """Hand `entries` to their handlers, `batch` at a time, one transaction each. Returns the rejected entries with
    their error; raises DATABASE_UNAVAILABLE errors (then nothing is lost: the caller keeps the segment)."""
    rejected = []
    for chunk in _chunks(entries, batch):
        try:
            _write(chunk)
        except DATABASE_UNAVAILABLE:
            raise
        except Exception:
            # One bad record must not hold back the others: find it by writing them one at a time.
            for entry in chunk:
                try:
                    _write([entry])
                except DATABASE_UNAVAILABLE:
                    raise
                except Exception as exc:
                    rejected.append((entry, f"{type(exc).__name__}: {exc}"))
    return rejected


def _chunks(entries: Iterable[Entry], size: int) -> Iterator[list[Entry]]:
    iterator = iter(entries)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _keep_rejected(directory: Path, segment_name: str, rejected: list[tuple[Entry, str]]) -> None:
    if not rejected:
        return
    folder = directory / "rejected"
    folder.mkdir(exist_ok=True)
    path = folder / f"{Path(segment_name).stem}.jsonl"
    with open(path, "a", encoding="utf-8") as out:
        for (stream, record), error in rejected:
            out.write(json.dumps({"stream": stream, "record": record, "error": error}) + "\n")
    logger.error(
        "ingest: %d record(s) refused by their handler, kept in %s; first: %s", len(rejected), path, rejected[0][1]
    )


def _read_entries(fd: int) -> Iterator[Entry]:
    """The records of a segment file. A line that does not parse (torn by a machine crash mid-write) is skipped
    with a warning: it was never acknowledged as written."""
    with os.fdopen(os.dup(fd), "rb") as lines:
        lines.seek(0)
        for number, line in enumerate(lines, 1):
            try:
                stream, record = json.loads(line)
                yield stream, record
            except (ValueError, TypeError):
                logger.warning("ingest: skipped unreadable line %d of a spool segment (%d bytes)", number, len(line))


# -- segments ------------------------------------------------------------------------------------------------------


class Segment:
    """One spool file, locked by the process that writes it."""

    def __init__(self, path: Path, fd: int):
        self.path = path
        self.fd = fd
        self.records: list[Entry] | None = []  # None once spilled: the file alone holds them
        self.count = 0

    @classmethod
    def create(cls, directory: Path) -> "Segment":
        name = f"{os.getpid()}-{time.time_ns()}-{next(_names)}"
        partial = directory / f"{name}{PARTIAL}"
        fd = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        # Renamed only once locked: a replayer that saw the file unlocked would take (and delete) a live segment.
        path = directory / f"{name}{SEGMENT}"
        os.rename(partial, path)
        return cls(path, fd)

    def write(self, line: bytes, fsync: bool) -> None:
        written = os.write(self.fd, line)
        while written < len(line):  # a regular file writes all of it unless the disk is full, which raises
            written += os.write(self.fd, line[written:])
        if fsync:
            os.fdatasync(self.fd)

    def entries(self) -> Iterable[Entry]:
        return self.records if self.records is not None else _read_entries(self.fd)

    def delivered(self) -> None:
        os.unlink(self.path)  # while still locked, so no replayer can take it between the two
        os.close(self.fd)

    def release(self) -> None:
        """Leave the file for a replay: closing it frees the lock."""
        os.close(self.fd)


def _replay(directory: Path, batch: int) -> int:
    if not directory.is_dir():
        return 0
    replayed = 0
    for path in sorted(directory.glob(f"*{SEGMENT}")):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue  # delivered by its owner since the listing
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its process is alive and writing it (or another replayer has it)
            if os.fstat(fd).st_nlink == 0:
                continue  # delivered and deleted between our open() and our lock
            count = 0

            def counted(entries):
                nonlocal count
                for entry in entries:
                    count += 1
                    yield entry

            rejected = deliver(counted(_read_entries(fd)), batch)
            _keep_rejected(directory, path.name, rejected)
            os.unlink(path)
            replayed += count
            if count:
                logger.info("ingest: replayed %d record(s) from %s", count, path.name)
        finally:
            os.close(fd)
    _sweep_partials(directory)
    return replayed


def _sweep_partials(directory: Path, older_than: float = 60.0) -> None:
    """A process killed between creating a segment and renaming it leaves an empty `.tmp`: remove it."""
    for path in directory.glob(f"*{PARTIAL}"):
        try:
            if time.time() - path.stat().st_mtime > older_than:
                path.unlink()
        except FileNotFoundError:
            pass


# -- the process's spool ---------------------------------------------------------------------------------------------


class Spool:
    """This process's spool: the segment being filled, and the flusher thread that delivers it."""

    def __init__(self, directory: Path, *, batch: int, interval: float, replay_every: float, fsync: bool):
        self.directory = directory
        self.batch = batch
        self.interval = interval
        self.replay_every = replay_every
        self.fsync = fsync
        self.pid = os.getpid()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.current: Segment | None = None
        self._lock = threading.Lock()  # the current segment: accept() and the rotation
        self._delivering = threading.Lock()  # one delivery at a time: the flusher, flush(), shutdown()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._failures = 0
        self._down_until = 0.0
        self._next_replay = 0.0
        # What this process did, logged when it stops (bench/ingest_bench.py adds them up to check nothing is lost).
        self.accepted = 0
        self.written = 0
        self.replayed = 0

    @classmethod
    def from_settings(cls) -> "Spool":
        return cls(
            Path(settings.INGEST_DIR),
            batch=settings.INGEST_BATCH,
            interval=settings.INGEST_INTERVAL_MS / 1000,
            replay_every=settings.INGEST_REPLAY_SECONDS,
            fsync=settings.INGEST_FSYNC,
        )

    def append(self, stream: str, record: dict) -> None:
        line = json.dumps([stream, record], separators=(",", ":")).encode() + b"\n"
        if len(line) > MAX_RECORD_BYTES:
            raise ValueError(f"An ingest record is limited to {MAX_RECORD_BYTES} bytes ({len(line)} given)")
        with self._lock:
            segment = self.current
            if segment is None:
                segment = self.current = Segment.create(self.directory)
            segment.write(line, self.fsync)
            if segment.records is not None:
                segment.records.append((stream, record))
            segment.count += 1
            self.accepted += 1
            full = segment.count >= self.batch
        if full:
            self._wake.set()
        if self._thread is None:
            self.start()

    def start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stopping.is_set():
                return
            self._thread = threading.Thread(target=self._run, name="ingest-flusher", daemon=True)
        # A process that exits without the web server's hook (a management command, the dev server) still delivers.
        atexit.register(self.shutdown, 10.0)
        self._thread.start()

    def _take(self) -> Segment | None:
        with self._lock:
            segment, self.current = self.current, None
            return segment

    def _deliver(self, segment: Segment) -> None:
        try:
            rejected = deliver(segment.entries(), self.batch)
        except BaseException:
            segment.release()
            raise
        _keep_rejected(self.directory, segment.path.name, rejected)
        segment.delivered()
        self.written += segment.count - len(rejected)

    def flush(self) -> None:
        with self._delivering:
            segment = self._take()
            if segment is not None:
                self._deliver(segment)

    def _tick(self) -> None:
        now = time.monotonic()
        if now < self._down_until:
            with self._lock:
                if self.current is not None:
                    self.current.records = None  # bounded memory while the database is away: disk only
            return
        close_old_connections()
        try:
            with self._delivering:
                segment = self._take()
                if segment is not None:
                    self._deliver(segment)
            if now >= self._next_replay:
                self.replayed += _replay(self.directory, self.batch)
                self._next_replay = now + self.replay_every
        except DATABASE_UNAVAILABLE as exc:
            self._failures += 1
            backoff = min(30.0, 0.5 * 2 ** (self._failures - 1))
            self._down_until = time.monotonic() + backoff
            self._next_replay = 0.0  # the released segment is replayed first when the database is back
            logger.warning("ingest: database unavailable (%s); records kept on disk, retrying in %.1f s", exc, backoff)
            connections.close_all()
        else:
            self._failures = 0

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._tick()
            except Exception:
                logger.exception("ingest: the flusher failed; the records stay on disk for a replay")
                self._down_until = time.monotonic() + 5
            self._wake.wait(self.interval)
            self._wake.clear()
        connections.close_all()

    def shutdown(self, timeout: float) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        # Several workers stop at once and all deliver now: on SQLite they queue for its one writer lock, and a
        # "database is locked" is only contention, so it is retried until the deadline (then the segment stays).
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    self.flush()
                    break
                except DATABASE_UNAVAILABLE:
                    if time.monotonic() >= deadline:
                        raise
                    connections.close_all()
                    time.sleep(0.2)
        except Exception:
            logger.exception("ingest: could not deliver at shutdown; the records stay on disk for a replay")
        finally:
            connections.close_all()
        if self.accepted or self.replayed:
            logger.info(
                "ingest: process %d stopped: accepted %d, wrote %d, replayed %d from dead segments",
                self.pid,
                self.accepted,
                self.written,
                self.replayed,
            )


_spool: Spool | None = None
_spool_lock = threading.Lock()


def _process_spool() -> Spool:
    global _spool
    spool = _spool
    if spool is None or spool.pid != os.getpid():
        with _spool_lock:
            if _spool is None or _spool.pid != os.getpid():
                _spool = Spool.from_settings()
            spool = _spool
    return spool


def _forget_in_child() -> None:
    """A forked child must not hold its parent's segment (the lock would outlive the parent) nor its locks."""
    global _spool, _spool_lock
    spool = _spool
    if spool is not None and spool.current is not None:
        try:
            os.close(spool.current.fd)
        except OSError:
            pass
    _spool = None
    _spool_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_in_child)
