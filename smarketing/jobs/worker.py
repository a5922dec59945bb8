"""The background worker: django-tasks-db's worker loop plus a heartbeat that /healthz reads.

It lives in jobs (floor 0, above core) because each beat also runs the periodic scheduler: core never imports jobs.
"""

import logging
import os
import socket
import threading

from django.db import close_old_connections
from django.utils import timezone
from django.utils.crypto import get_random_string

from smarketing.core.models import WorkerHeartbeat
from smarketing.jobs.periodic import run_due_periodic_jobs_safely

HEARTBEAT_SECONDS = 15
logger = logging.getLogger(__name__)


def beat(worker_id: str, started_at) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": started_at,
            "seen_at": timezone.now(),
        },
    )


def start_heartbeat(worker_id: str) -> threading.Event:
    """Beat now and then every HEARTBEAT_SECONDS in a daemon thread, until the returned event is set."""
    stop = threading.Event()
    started_at = timezone.now()
    beat(worker_id, started_at)
    run_due_periodic_jobs_safely()

    def loop():
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                beat(worker_id, started_at)
            except Exception:  # the next beat retries; a dead DB shows up in /healthz anyway
                logger.warning("worker heartbeat failed", exc_info=True)
            else:
                # Each beat also enqueues the periodic jobs that are due (claimed once per period, however
                # many workers beat).
                run_due_periodic_jobs_safely()
            finally:
                close_old_connections()

    threading.Thread(target=loop, name="heartbeat", daemon=True).start()
    return stop


def forget(worker_id: str) -> None:
    """A worker that exits cleanly removes its heartbeat, so /healthz and the job list only show live ones."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{get_random_string(8)}"
