"""API jobs: forgetting expired idempotency keys."""

from datetime import timedelta

from django_tasks import task

from smarketing.api import idempotency
from smarketing.jobs.periodic import periodic


@periodic(every=timedelta(hours=1))
@task()
def purge_idempotency_keys() -> int:
    """Delete Idempotency-Keys older than 24 hours (a reused expired key is also replaced on the spot)."""
    return idempotency.purge_expired()
