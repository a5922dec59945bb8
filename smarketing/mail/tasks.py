"""Jobs of the mail core: the transactional stream's sender and its sweeper."""

from datetime import timedelta

from django_tasks import task

from smarketing.jobs.periodic import periodic
from smarketing.jobs.retry import retrying
from smarketing.mail import services


@task()
@retrying(on=(services.TemporaryFailure,), max_attempts=services.MAX_ATTEMPTS, base=timedelta(minutes=1))
def deliver_transactional(message_id: int) -> str:
    """Send one transactional message (4xx or no server: retried with backoff; 5xx: failed)."""
    return services.deliver(message_id)


@periodic(every=timedelta(minutes=5))
@task()
def requeue_stale_transactional() -> int:
    """Messages whose attempt died with its worker get another attempt (never a second copy: see services)."""
    return services.requeue_stale()
