"""Posting the call_webhook steps' calls: one job per call after commit, and a sweep for retries and lost jobs.

A call is leased with a conditional UPDATE (`locked_until`), so two workers never post it at once; a worker that
dies mid-request loses the lease when it expires and the sweep hands the call to another. 2xx succeeds; 5xx,
timeouts and network errors retry with a backoff (MAX_ATTEMPTS in all); 3xx and 4xx fail at once (sending the
same request again would not change the answer).
"""

from datetime import timedelta

from django.db.models import F, Q
from django.utils import timezone
from django_tasks import task

from smarketing.jobs.periodic import periodic

MAX_ATTEMPTS = 5
LEASE = timedelta(minutes=2)
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))


def _claim(call_id: int, now) -> bool:
    from smarketing.workflows.models import WebhookCall, WebhookCallStatus

    return bool(
        WebhookCall.objects.filter(pk=call_id, status=WebhookCallStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + LEASE, attempts=F("attempts") + 1)
    )


def post_call(call_id: int) -> str:
    """One attempt at one call; returns its status afterwards (or 'skipped' when it was not ours to make)."""
    import time

    from smarketing.webhooks import sender
    from smarketing.webhooks.signing import signature
    from smarketing.webhooks.targets import ResolutionFailed, UnsafeTarget, check_url
    from smarketing.workflows.models import WebhookCall, WebhookCallStatus

    now = timezone.now()
    if not _claim(call_id, now):
        return "skipped"
    call = WebhookCall.objects.select_related("step_run__enrollment__workflow").get(pk=call_id)
    step = _step(call)
    secret = (step.get("params") or {}).get("secret", "")

    def finish(status: str, **fields) -> str:
        if status == "retry":
            if call.attempts >= MAX_ATTEMPTS:
                status = WebhookCallStatus.FAILED
                fields["error"] = f"{fields.get('error', '')} (gave up after {call.attempts} attempts)".strip()
            else:
                fields["next_attempt_at"] = timezone.now() + BACKOFF[min(call.attempts - 1, len(BACKOFF) - 1)]
                status = WebhookCallStatus.PENDING
        WebhookCall.objects.filter(pk=call.pk).update(status=status, locked_until=None, **fields)
        return status

    try:
        target = check_url(call.url)
    except ResolutionFailed as exc:
        return finish("retry", error=str(exc))
    except UnsafeTarget as exc:
        return finish(WebhookCallStatus.FAILED, error=f"Refused: {exc}")
    body = call.request_body.encode()
    timestamp = int(time.time())
    outcome = sender.post(
        target,
        body,
        {
            "X-Smarketing-Event": "workflow.step",
            "X-Smarketing-Delivery": f"steprun_{call.step_run_id}",
            "Idempotency-Key": f"steprun_{call.step_run_id}",
            "X-Smarketing-Timestamp": str(timestamp),
            "X-Smarketing-Signature": signature(secret, timestamp, body),
        },
    )
    result = {"response_status": outcome.status, "response_body": outcome.body}
    if outcome.status is None:
        return finish("retry", error=outcome.error, **result)
    if 200 <= outcome.status < 300:
        return finish(WebhookCallStatus.SUCCEEDED, error="", delivered_at=timezone.now(), **result)
    if outcome.status >= 500:
        return finish("retry", error=f"HTTP {outcome.status}", **result)
    return finish(WebhookCallStatus.FAILED, error=f"HTTP {outcome.status}: not retried", **result)


def _step(call) -> dict:
    workflow = call.step_run.enrollment.workflow
    for step in _walk((workflow.definition or {}).get("steps") or []):
        if step.get("id") == call.step_run.step_id:
            return step
    return {}


def _walk(steps):
    for step in steps:
        yield step
        for branch in ("yes", "no"):
            yield from _walk(step.get(branch) or [])


@task()
def post_webhook_call(call_id: int) -> str:
    return post_call(call_id)


@periodic(every=timedelta(minutes=1))
@task()
def retry_webhook_calls() -> int:
    """Due retries, and calls whose job was lost (a crash between commit and enqueue): enqueue each once."""
    from smarketing.workflows.models import WebhookCall, WebhookCallStatus

    now = timezone.now()
    due = (
        WebhookCall.objects.filter(status=WebhookCallStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .values_list("pk", flat=True)[:500]
    )
    ids = list(due)
    for pk in ids:
        post_webhook_call.enqueue(pk)
    return len(ids)
