"""The ingest spool (core/ingest.py): answers before writing, writes in batches, loses nothing on a crash.

Unit tests drive a Spool of their own in a temporary directory; the crash tests (marker `worker`) are in
test_ingest_crash.py.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from unittest import mock

from django.db import OperationalError
from django.test import SimpleTestCase, TestCase, override_settings

from smarketing.core import ingest
from smarketing.forms.models import Visitor

ROOT = Path(__file__).resolve().parents[3]


class Collected:
    """A handler that remembers what it was given (thread-safe), and can be told to fail."""

    def __init__(self):
        self.batches: list[list[dict]] = []
        self.lock = threading.Lock()
        self.fail_with: Exception | None = None
        self.refuse: set[str] = set()

    def __call__(self, records: list[dict]) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        for record in records:
            if record.get("n") in self.refuse:
                raise ValueError(f"refused {record['n']}")
        with self.lock:
            self.batches.append(list(records))

    @property
    def records(self) -> list[dict]:
        with self.lock:
            return [r for batch in self.batches for r in batch]


def visitors_by_hit_id(records: list[dict]) -> None:
    """An idempotent DB handler, as the page-view writer is: one row per hit_id (a unique column), duplicates
    ignored."""
    Visitor.objects.bulk_create([Visitor(public_id=r["hit_id"]) for r in records], ignore_conflicts=True)


class SpoolCase(SimpleTestCase):
    """A fresh spool directory, a `test` stream with a Collected handler (which writes no rows: the transactions
    around it are empty, so the flusher thread may open them on the database)."""

    databases = {"default"}

    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="smk-ingest-test-"))
        self.handler = Collected()
        streams = mock.patch.dict(ingest._STREAMS, {"test": self.handler})
        streams.start()
        self.addCleanup(streams.stop)
        self.spools: list[ingest.Spool] = []

    def tearDown(self):
        for spool in self.spools:
            spool.shutdown(5)

    def spool(self, *, batch=500, interval=60.0, replay_every=60.0, fsync=False) -> ingest.Spool:
        spool = ingest.Spool(self.dir, batch=batch, interval=interval, replay_every=replay_every, fsync=fsync)
        self.spools.append(spool)
        return spool

    def segments(self) -> list[Path]:
        return sorted(self.dir.glob("*.seg"))

    def wait_for(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                self.fail(f"not within {timeout} s; delivered {len(self.handler.records)}")
            time.sleep(0.02)


class SpoolTests(SpoolCase):
    def test_accept_appends_one_line_per_record_and_writes_nothing_until_flushed(self):
        spool = self.spool()
        spool._thread = threading.current_thread()  # no flusher: this test flushes by hand
        for n in range(3):
            spool.append("test", {"hit_id": f"h{n}", "n": n})
        [segment] = self.segments()
        lines = segment.read_bytes().splitlines()
        expected = [["test", {"hit_id": f"h{n}", "n": n}] for n in range(3)]
        self.assertEqual([json.loads(line) for line in lines], expected)
        self.assertEqual(self.handler.records, [])

        spool.flush()
        self.assertEqual([r["n"] for r in self.handler.records], [0, 1, 2])
        self.assertEqual(len(self.handler.batches), 1, "one batch")
        self.assertEqual(self.segments(), [], "a delivered segment is deleted")

    def test_each_flush_rotates_to_a_new_segment(self):
        spool = self.spool()
        spool._thread = threading.current_thread()
        spool.append("test", {"n": 1})
        [first] = self.segments()
        spool.flush()
        spool.append("test", {"n": 2})
        [second] = self.segments()
        self.assertNotEqual(first.name, second.name)
        spool.flush()
        self.assertEqual([r["n"] for r in self.handler.records], [1, 2])

    def test_the_flusher_writes_within_the_interval_in_batches(self):
        spool = self.spool(batch=50, interval=0.05)
        for n in range(120):
            spool.append("test", {"n": n})
        self.wait_for(lambda: len(self.handler.records) == 120)
        self.assertEqual(sorted(r["n"] for r in self.handler.records), list(range(120)))
        self.assertTrue(all(len(b) <= 50 for b in self.handler.batches), [len(b) for b in self.handler.batches])
        self.wait_for(lambda: self.segments() == [])

    def test_a_full_batch_is_written_at_once_without_waiting_for_the_interval(self):
        spool = self.spool(batch=10, interval=30.0)
        spool.start()
        time.sleep(0.1)  # the flusher's first round (replay) is done; it now sleeps for 30 s unless woken
        for n in range(10):
            spool.append("test", {"n": n})
        self.wait_for(lambda: len(self.handler.records) == 10, timeout=5)

    def test_records_get_a_hit_id_and_must_be_json(self):
        with override_settings(INGEST_SYNC=False, INGEST_DIR=str(self.dir)):
            spool = ingest._process_spool()
            self.spools.append(spool)
            self.addCleanup(setattr, ingest, "_spool", None)
            record = {"n": 1}
            ingest.accept("test", record)
            self.assertEqual(len(record["hit_id"]), 32)
            with self.assertRaises(TypeError):
                ingest.accept("test", {"at": object()})
            with self.assertRaisesMessage(KeyError, "No ingest stream is called 'nope'"):
                ingest.accept("nope", {})
            with self.assertRaisesMessage(ValueError, "limited to"):
                ingest.accept("test", {"big": "x" * ingest.MAX_RECORD_BYTES})
            ingest.flush()
        self.assertEqual(self.handler.records, [record], "the refused records were not written")

    def test_shutdown_delivers_what_is_buffered(self):
        spool = self.spool(interval=60.0)
        for n in range(5):
            spool.append("test", {"n": n})
        spool.shutdown(5)
        self.assertEqual(len(self.handler.records), 5)
        self.assertEqual(self.segments(), [])


class FailureTests(SpoolCase):
    def test_database_down_keeps_the_segment_for_a_replay(self):
        spool = self.spool()
        spool._thread = threading.current_thread()
        spool.append("test", {"n": 1})
        self.handler.fail_with = OperationalError("the database is away")
        with self.assertRaises(OperationalError):
            spool.flush()
        self.assertEqual(len(self.segments()), 1, "left on disk, unlocked")
        self.handler.fail_with = None
        self.assertEqual(ingest.replay(self.dir), 1)
        self.assertEqual([r["n"] for r in self.handler.records], [1])
        self.assertEqual(self.segments(), [])

    def test_the_flusher_backs_off_spills_to_disk_and_delivers_everything_once_the_database_is_back(self):
        spool = self.spool(batch=20, interval=0.02, replay_every=0.05)
        self.handler.fail_with = OperationalError("the database is away")
        for n in range(30):
            spool.append("test", {"n": n})
        self.wait_for(lambda: spool._failures >= 1)
        for n in range(30, 60):  # accepted while the database is away: disk only
            spool.append("test", {"n": n})
        # Not kept in memory while the database is away (the next round of the flusher drops them): disk only.
        self.wait_for(lambda: spool.current.records is None)
        self.handler.fail_with = None
        self.wait_for(lambda: len(self.handler.records) >= 60, timeout=15)
        self.assertEqual(sorted(r["n"] for r in self.handler.records), list(range(60)), "all, and each once")
        self.wait_for(lambda: self.segments() == [])

    def test_a_record_the_handler_refuses_is_kept_aside_and_the_others_are_written(self):
        spool = self.spool()
        spool._thread = threading.current_thread()
        self.handler.refuse = {"bad"}
        for n in ("a", "bad", "c"):
            spool.append("test", {"n": n})
        spool.flush()
        self.assertEqual([r["n"] for r in self.handler.records], ["a", "c"])
        [kept] = (self.dir / "rejected").glob("*.jsonl")
        [line] = kept.read_text().splitlines()
        self.assertEqual(json.loads(line)["record"]["n"], "bad")
        self.assertIn("ValueError: refused bad", json.loads(line)["error"])

    def test_a_torn_line_is_skipped_and_the_rest_replayed(self):
        (self.dir / "1-1-1.seg").write_bytes(b'["test",{"n":1}]\n["test",{"n":2}]\n["test",{"n"')
        self.assertEqual(ingest.replay(self.dir), 2)
        self.assertEqual([r["n"] for r in self.handler.records], [1, 2])

    def test_a_record_of_a_stream_nobody_registered_is_rejected_not_lost(self):
        (self.dir / "1-1-2.seg").write_bytes(b'["gone",{"n":1}]\n["test",{"n":2}]\n')
        ingest.replay(self.dir)
        self.assertEqual([r["n"] for r in self.handler.records], [2])
        [kept] = (self.dir / "rejected").glob("*.jsonl")
        self.assertIn("UnknownStream: gone", kept.read_text())


WRITER = """
import os, signal, sys, time
import django
django.setup()
from pathlib import Path
from smarketing.core import ingest
spool = ingest.Spool(Path(sys.argv[1]), batch=10**6, interval=3600, replay_every=3600, fsync=False)
spool._thread = object()  # no flusher: the process dies before writing anything
for n in range(int(sys.argv[2])):
    spool.append("test", {"hit_id": f"hit{n:028d}", "n": n})
print("written", flush=True)
if sys.argv[3] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
time.sleep(60)
"""


def start_writer(directory: Path, count: int, how: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "smarketing.settings"}
    env.pop("DATABASE_URL", None)
    env["SMARKETING_DATA_DIR"] = str(directory.parent)
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(directory), str(count), how],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


class ReplayTests(SpoolCase):
    def test_the_segment_of_a_killed_process_is_replayed_and_a_live_one_is_not(self):
        dead = start_writer(self.dir, 200, "kill")
        self.assertEqual(dead.stdout.readline().strip(), "written")
        self.assertEqual(dead.wait(timeout=30), -signal.SIGKILL)
        alive = start_writer(self.dir, 7, "live")
        try:
            self.assertEqual(alive.stdout.readline().strip(), "written")
            self.assertEqual(len(self.segments()), 2)
            self.assertEqual(ingest.replay(self.dir), 200, "only the dead process's segment")
            self.assertEqual(sorted(r["n"] for r in self.handler.records), list(range(200)))
            self.assertEqual(len(self.segments()), 1, "the live one is still there")
        finally:
            alive.kill()
            alive.wait(timeout=30)
            alive.stdout.close()
            dead.stdout.close()
        self.assertEqual(ingest.replay(self.dir), 7, "free once its process is gone")
        self.assertEqual(self.segments(), [])

    def test_the_flusher_replays_dead_segments_when_it_starts(self):
        (self.dir / "1-1-3.seg").write_bytes(b'["test",{"n":1}]\n')
        spool = self.spool(interval=0.05)
        spool.start()
        self.wait_for(lambda: len(self.handler.records) == 1)

    def test_a_process_does_not_replay_its_own_live_segment(self):
        spool = self.spool()
        spool._thread = threading.current_thread()
        spool.append("test", {"n": 1})
        self.assertEqual(ingest.replay(self.dir), 0)
        spool.flush()
        self.assertEqual(len(self.handler.records), 1)

    def test_a_leftover_partial_segment_is_swept(self):
        partial = self.dir / "1-1-4.tmp"
        partial.write_bytes(b"")
        os.utime(partial, (time.time() - 120, time.time() - 120))
        ingest.replay(self.dir)
        self.assertFalse(partial.exists())


class IdempotentReplayTests(TestCase):
    """A crash after the handler committed but before the segment was deleted replays written records: with an
    idempotent handler (unique hit_id) nothing is written twice."""

    def test_replaying_a_delivered_segment_again_writes_nothing_twice(self):
        directory = Path(tempfile.mkdtemp(prefix="smk-ingest-test-"))
        with mock.patch.dict(ingest._STREAMS, {"visit": visitors_by_hit_id}):
            spool = ingest.Spool(directory, batch=500, interval=60, replay_every=60, fsync=False)
            spool._thread = threading.current_thread()
            for n in range(5):
                spool.append("visit", {"hit_id": f"{n:032d}"})
            [segment] = directory.glob("*.seg")
            copy = segment.read_bytes()
            spool.flush()
            self.assertEqual(Visitor.objects.count(), 5)
            (directory / "9-9-9.seg").write_bytes(copy)  # as if the crash came before the delete
            self.assertEqual(ingest.replay(directory), 5)
        self.assertEqual(Visitor.objects.count(), 5)
        self.assertEqual(list(directory.glob("*.seg")), [])


class PeriodicReplayTests(SpoolCase):
    def test_the_periodic_job_replays_dead_segments_of_the_ingest_directory(self):
        from smarketing.core.tasks import replay_ingest_spool
        from smarketing.jobs.periodic import discover

        self.assertIn(replay_ingest_spool.module_path, discover())
        (self.dir / "1-1-5.seg").write_bytes(b'["test",{"n":1}]\n["test",{"n":2}]\n')
        with override_settings(INGEST_DIR=str(self.dir)):
            self.assertEqual(replay_ingest_spool.call(), 2)
        self.assertEqual([r["n"] for r in self.handler.records], [1, 2])
        self.assertEqual(self.segments(), [])
