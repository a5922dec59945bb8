"""Every write of the webhooks app: endpoints, the event fan-out, and deliveries.

Flow: CRM services publish events into the core.Event outbox inside their transactions. The fan-out is the
outbox consumer "webhooks" (registered in apps.py, run by jobs.outbox after such commits and by its sweeps): it
turns each event into one Delivery per subscribed endpoint and enqueues a `deliver` job for each.
A delivery is claimed with a conditional UPDATE that takes a lease, sent, and then either finished or
rescheduled with exponential backoff.
"""

import json
import logging
import secrets
import time
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from smarketing.core.audit import record_audit
from smarketing.core.models import Event
from smarketing.jobs.outbox import run_consumer
from smarketing.jobs.retry import exponential_backoff
from smarketing.webhooks import sender
from smarketing.webhooks.models import Delivery, Endpoint, new_secret
from smarketing.webhooks.signing import signature
from smarketing.webhooks.targets import ResolutionFailed, UnsafeTarget, check_url

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# 30 s, 1.5 min, 4.5 min, 13.5 min, 40 min, 2 h, 6 h: the last attempt comes about 9 hours after the first.
BACKOFF = {"base": timedelta(seconds=30), "factor": 3.0, "cap": timedelta(hours=6)}
# Longer than the longest exchange (DNS, up to 3 connects of 10 s, the request, 20 s of reading): a lease never
# expires under a live request, so two workers never send one delivery at the same time.
LEASE = timedelta(seconds=90)
# A due delivery whose job went missing (a failed enqueue, a lost worker) is enqueued again after this long.
SWEEP_GRACE = timedelta(minutes=5)
FAN_OUT_BATCH = 500
CONSUMER = "webhooks"  # the outbox consumer name (its cursor row was placed by migration 0002)
TEST_EVENT = "webhook.test"
LOG_RETENTION = timedelta(days=30)

Status = Delivery.Status


# -- endpoints ---------------------------------------------------------------------------------------------------
@transaction.atomic
def create_endpoint(*, actor, url: str, description: str, events: list[str], active: bool = True) -> Endpoint:
    endpoint = Endpoint.objects.create(url=url, description=description, events=events, active=active, created_by=actor)
    record_audit(actor=actor, action="create", obj=endpoint, changes={"url": [None, url], "events": [None, events]})
    return endpoint


@transaction.atomic
def update_endpoint(endpoint: Endpoint, *, actor, **fields) -> Endpoint:
    changes = {}
    for name, value in fields.items():
        old = getattr(endpoint, name)
        if old != value:
            changes[name] = [old, value]
            setattr(endpoint, name, value)
    if changes:
        endpoint.save()
        record_audit(actor=actor, action="update", obj=endpoint, changes=changes)
    return endpoint


@transaction.atomic
def rotate_secret(endpoint: Endpoint, *, actor) -> Endpoint:
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    record_audit(actor=actor, action="rotate_secret", obj=endpoint)
    return endpoint


@transaction.atomic
def delete_endpoint(endpoint: Endpoint, *, actor) -> None:
    record_audit(actor=actor, action="delete", obj=endpoint, changes={"url": [endpoint.url, None]})
    endpoint.delete()


# -- fan-out -----------------------------------------------------------------------------------------------------
def payload_body(*, event_id: str, name: str, occurred_at, data) -> str:
    return json.dumps(
        {"id": event_id, "event": name, "occurred_at": occurred_at.isoformat(), "data": data},
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )


def fan_out(events: list[Event]) -> int:
    """The webhooks' outbox consumer: one Delivery per subscribed active endpoint per event; returns how many.

    Runs inside the consumer's transaction (jobs.outbox), so the deliveries commit with the cursor move: each event
    is fanned out once. The (endpoint, event) unique constraint is a second line of defence.
    """
    endpoints = list(Endpoint.objects.filter(active=True).only("id", "events", "created_at"))
    if not endpoints:
        return 0
    deliveries = []
    now = timezone.now()
    for event in events:
        body = None
        for endpoint in endpoints:
            # An endpoint receives the events that happen after it was created, not history.
            if not endpoint.wants(event.name) or event.occurred_at < endpoint.created_at:
                continue
            body = body or payload_body(
                event_id=str(event.id), name=event.name, occurred_at=event.occurred_at, data=event.payload
            )
            deliveries.append(
                Delivery(
                    endpoint_id=endpoint.id,
                    event_id=event.id,
                    event_name=event.name,
                    request_body=body,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    if not deliveries:
        return 0
    Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    new_ids = list(
        Delivery.objects.filter(event_id__in=[e.id for e in events], attempts=0, status=Status.PENDING).values_list(
            "id", flat=True
        )
    )
    transaction.on_commit(lambda: _enqueue_deliveries(new_ids))
    return len(new_ids)


def has_active_endpoints() -> bool:
    """Commits wake the fan-out only when someone listens (the sweep still moves its cursor along)."""
    return Endpoint.objects.filter(active=True).exists()


def fan_out_events(batch_size: int | None = None, *, wait: bool = True) -> int:
    """Fan out every event not fanned out yet, now; returns the deliveries created.

    wait=True waits for a concurrent fan-out to finish its batch rather than skip, so on return every event
    committed before the call is fanned out.
    """
    return run_consumer(CONSUMER, batch_size=batch_size, wait=wait).produced


def _enqueue_deliveries(ids, run_after=None) -> None:
    from smarketing.webhooks.tasks import deliver

    task = deliver.using(run_after=run_after) if run_after else deliver
    for delivery_id in ids:
        task.enqueue(delivery_id)


def requeue_stalled_deliveries(now=None) -> int:
    """Enqueue again deliveries that are due since SWEEP_GRACE and not leased (their job was lost)."""
    now = now or timezone.now()
    stalled = Delivery.objects.filter(
        status__in=[Status.PENDING, Status.RETRYING], next_attempt_at__lte=now - SWEEP_GRACE
    ).filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
    ids = list(stalled.order_by("next_attempt_at").values_list("id", flat=True)[:1000])
    if ids:
        # Moving next_attempt_at to now keeps the next sweeps from enqueuing them again at once.
        Delivery.objects.filter(id__in=ids, status__in=[Status.PENDING, Status.RETRYING]).update(next_attempt_at=now)
        _enqueue_deliveries(ids)
    return len(ids)


def prune_deliveries(now=None) -> int:
    """Delete finished deliveries older than LOG_RETENTION, in batches (the log is recent history)."""
    cutoff = (now or timezone.now()) - LOG_RETENTION
    old = Delivery.objects.filter(status__in=[Status.SUCCEEDED, Status.FAILED], created_at__lt=cutoff)
    deleted = 0
    while ids := list(old.order_by().values_list("id", flat=True)[:1000]):
        deleted += Delivery.objects.filter(id__in=ids).delete()[0]
    return deleted


def forget_object(object_type: str, object_id) -> int:
    """Delete the delivery log entries (request bodies hold the record's data) of one record, for erasure."""
    return Delivery.objects.filter(event__object_type=object_type, event__object_id=str(object_id)).delete()[0]


# -- deliveries --------------------------------------------------------------------------------------------------
def send_test_event(endpoint: Endpoint, *, actor) -> Delivery:
    now = timezone.now()
    delivery = Delivery.objects.create(
        endpoint=endpoint,
        event=None,
        event_name=TEST_EVENT,
        request_body=payload_body(
            event_id=f"test_{secrets.token_hex(8)}",
            name=TEST_EVENT,
            occurred_at=now,
            data={"message": "A test event sent from Smarketing.", "endpoint_id": endpoint.id},
        ),
        next_attempt_at=now,
        created_at=now,
    )
    transaction.on_commit(lambda: _enqueue_deliveries([delivery.id]))
    return delivery


def redeliver(delivery: Delivery, *, actor) -> bool:
    """Send a finished delivery again from scratch (a fresh set of attempts). False if it is still in flight."""
    with transaction.atomic():
        reset = Delivery.objects.filter(id=delivery.id, status__in=[Status.SUCCEEDED, Status.FAILED]).update(
            status=Status.PENDING, attempts=0, next_attempt_at=timezone.now(), locked_until=None, lock_token=""
        )
        if not reset:
            return False
        record_audit(actor=actor, action="redeliver", obj=delivery, object_repr=f"{delivery.event_name} delivery")
        transaction.on_commit(lambda: _enqueue_deliveries([delivery.id]))
    return True


def _claim(delivery_id: int, now) -> str | None:
    """Lease a due delivery for this worker; None when it is not due, finished, or leased by another."""
    token = secrets.token_hex(16)
    claimed = (
        Delivery.objects.filter(id=delivery_id, status__in=[Status.PENDING, Status.RETRYING], next_attempt_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + LEASE, lock_token=token, attempts=F("attempts") + 1, last_attempt_at=now)
    )
    return token if claimed else None


def deliver(delivery_id: int) -> str:
    """Make one attempt at a delivery; returns its new status (or 'skipped' when it was not ours to send)."""
    now = timezone.now()
    token = _claim(delivery_id, now)
    if token is None:
        return "skipped"
    delivery = Delivery.objects.select_related("endpoint").filter(id=delivery_id).first()
    if delivery is None:  # its endpoint was deleted a moment ago
        return "skipped"
    endpoint = delivery.endpoint
    if not endpoint.active:
        return _finish(delivery, token, Status.FAILED, error="The endpoint is disabled.")
    try:
        target = check_url(endpoint.url)
    except ResolutionFailed as exc:
        return _retry_or_fail(delivery, token, error=str(exc), duration_ms=0)
    except UnsafeTarget as exc:
        return _finish(delivery, token, Status.FAILED, error=f"Refused: {exc}")
    body = delivery.request_body.encode()
    timestamp = int(time.time())
    outcome = sender.post(
        target,
        body,
        {
            "X-Smarketing-Event": delivery.event_name,
            "X-Smarketing-Delivery": str(delivery.id),
            "X-Smarketing-Timestamp": str(timestamp),
            "X-Smarketing-Signature": signature(endpoint.secret, timestamp, body),
        },
    )
    result = {"response_status": outcome.status, "response_body": outcome.body, "duration_ms": outcome.duration_ms}
    if outcome.status is None:
        return _retry_or_fail(delivery, token, error=outcome.error, **result)
    if 200 <= outcome.status < 300:
        return _finish(delivery, token, Status.SUCCEEDED, delivered_at=timezone.now(), **result)
    if outcome.status >= 500:
        return _retry_or_fail(delivery, token, error=f"HTTP {outcome.status}", **result)
    if 300 <= outcome.status < 400:
        where = f" to {outcome.location}" if outcome.location else ""
        error = f"HTTP {outcome.status}: redirect{where} not followed; use the final URL."
        return _finish(delivery, token, Status.FAILED, error=error, **result)
    # 4xx (and 1xx oddities): the receiver refused this request; sending it again would not change that.
    return _finish(delivery, token, Status.FAILED, error=f"HTTP {outcome.status}: not retried", **result)


def _finish(delivery: Delivery, token: str, status: str, *, error: str = "", **fields) -> str:
    # Conditional on our lease token: a worker whose lease was taken over must not overwrite the new owner.
    Delivery.objects.filter(id=delivery.id, lock_token=token).update(
        status=status, error=error, locked_until=None, lock_token="", **fields
    )
    return status


def _retry_or_fail(delivery: Delivery, token: str, *, error: str, **fields) -> str:
    attempts = delivery.attempts  # already counts this attempt (the claim incremented it)
    if attempts >= MAX_ATTEMPTS:
        return _finish(delivery, token, Status.FAILED, error=f"{error} (gave up after {attempts} attempts)", **fields)
    next_at = timezone.now() + exponential_backoff(attempts, **BACKOFF)
    _finish(delivery, token, Status.RETRYING, error=error, next_attempt_at=next_at, **fields)
    _enqueue_deliveries([delivery.id], run_after=next_at)
    return Status.RETRYING
