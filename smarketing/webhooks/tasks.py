"""Webhook jobs: the fan-out of outbox events (also a sweep every minute) and single delivery attempts."""

from datetime import timedelta

from django_tasks import task

from smarketing.jobs.periodic import periodic
from smarketing.webhooks import services


@periodic(every=timedelta(minutes=1))
@task()
def dispatch_events() -> dict:
    """Fan out events not fanned out yet (unless another run is at it); re-enqueue deliveries whose job went missing."""
    return {"created": services.fan_out_events(wait=False), "requeued": services.requeue_stalled_deliveries()}


@task()
def deliver(delivery_id: int) -> str:
    return services.deliver(delivery_id)


@periodic(every=timedelta(hours=1))
@task()
def prune_deliveries() -> int:
    """Delete finished deliveries older than 30 days."""
    return services.prune_deliveries()
