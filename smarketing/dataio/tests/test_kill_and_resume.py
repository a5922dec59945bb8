"""A real `smarketing import` process killed with SIGKILL mid-import, then `--resume ID` straight away.

The command prints its id and the resume command before the first row; after `kill -9` the import still says
"running", but its run lock died with the process, so the resume takes it over at once (no waiting out a
heartbeat) and every row ends up imported exactly once: one contact, one lifecycle history row and one
"contact created" entry per row of the file.
"""

import re
import signal
import sqlite3
import subprocess
import time

import pytest

from smarketing.crm import kinds as Kind
from smarketing.crm.models import Contact, LifecycleChange
from smarketing.dataio.models import Import
from smarketing.jobs.testing import WorkerPool
from smarketing.timeline.models import Touchpoint

ROWS = 20_000


def _progress(pool: WorkerPool) -> tuple[int, str] | None:
    """The first import's (next_row, status), read the way the subprocess wrote it."""
    if pool.sqlite_file is not None:
        db = sqlite3.connect(pool.sqlite_file, timeout=20)
        try:
            return db.execute("SELECT next_row, status FROM dataio_import ORDER BY id LIMIT 1").fetchone()
        finally:
            db.close()
    found = Import.objects.order_by("id").values_list("next_row", "status").first()
    return tuple(found) if found else None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_kill_9_mid_import_then_resume_imports_every_row_exactly_once(tmp_path):
    lines = "".join(f"{i},Person {i},p{i}@kill.example,Lead,Paid Search\n" for i in range(ROWS))
    source = tmp_path / "big.csv"
    source.write_text("Record ID,Full Name,Email,Lifecycle Stage,Original Source\n" + lines, encoding="utf-8")

    with WorkerPool(0) as pool:
        first = pool.command(
            "import", "contacts", str(source), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        announced = first.stdout.readline() + first.stdout.readline()  # the format line, then the id
        while "started" not in announced and first.poll() is None:
            announced += first.stdout.readline()
        match = re.search(r"Import #(\d+) started\. .*--resume (\d+)", announced)
        assert match, announced
        pk = int(match.group(1))
        assert match.group(2) == str(pk)

        # Kill it once some chunks are in and well before the end.
        deadline = time.monotonic() + 120
        while True:
            state = _progress(pool)
            if state and state[0] >= 2_000:
                break
            assert first.poll() is None, "the import finished or died before it could be killed"
            assert time.monotonic() < deadline, "the import made no progress"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        first.stdout.close()
        killed_at, status = _progress(pool)
        assert status == "running" and 0 < killed_at < ROWS  # what a killed process leaves behind

        started = time.monotonic()
        resume = pool.command(
            "import",
            "contacts",
            "--resume",
            str(pk),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        out, _ = resume.communicate(timeout=300)
        assert resume.returncode == 0, out
        assert f"Resuming import #{pk} after row" in out
        assert "being run right now" not in out and "another process" not in out
        assert f"{ROWS:,} rows: {ROWS:,} created, 0 updated, 0 unchanged, 0 rejected" in out, out
        assert time.monotonic() - started < 240
        if pool.sqlite_file is not None:  # the finished import's lock file is gone
            assert not (pool.tmp / "uploads" / "import-locks" / f"{pk}.lock").exists()
            assert (pool.tmp / "uploads" / "import-locks").is_dir()
        pool.sync()

    imp = Import.objects.get(pk=pk)
    assert (imp.status, imp.next_row, imp.created, imp.rejected) == (Import.Status.DONE, ROWS, ROWS, 0)
    assert Contact.objects.count() == ROWS
    assert Contact.objects.values("email").distinct().count() == ROWS
    assert Contact.objects.filter(first_source="paid").count() == ROWS
    assert LifecycleChange.objects.count() == ROWS
    assert Touchpoint.objects.filter(kind=Kind.CONTACT_CREATED).count() == ROWS
    assert imp.file_name == ""  # the upload was deleted once it finished
