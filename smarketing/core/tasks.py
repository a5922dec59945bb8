"""Periodic jobs of the platform core."""

from datetime import timedelta

from django_tasks import task

from smarketing.core import ingest
from smarketing.jobs.periodic import periodic


@periodic(every=timedelta(minutes=1))
@task()
def replay_ingest_spool() -> int:
    """Write the spooled hits of web processes that died (or could not reach the database) before writing them.

    Each web process replays such segments too when it starts and every INGEST_REPLAY_SECONDS; this job covers
    an install whose web processes are all gone (core/ingest.py)."""
    return ingest.replay()
