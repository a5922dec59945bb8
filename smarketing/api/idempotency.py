"""Idempotency-Key on POST, with Stripe's semantics.

- The first request with a key claims it: its row is inserted (status in_progress) and committed in its own
  transaction *before* the view runs, so a concurrent request with the same key hits the unique constraint
  and is answered 409 "request in progress" instead of executing a second time.
- The view then runs in a transaction that also stores its response on the key row: the change and the
  stored response commit together, so a crash can neither lose the response of a committed change nor keep
  a response for a change that rolled back.
- A retry with the same key and the same request gets the stored response back, with its Location and ETag
  (and the header Idempotent-Replayed);
  the same key with another method, path or body is refused (422).
- Only successful (2xx) responses are kept. An error rolls the whole request back and releases the key, so the
  client may fix the request and retry with the same key.
- Keys expire after 24 hours. A key left in progress by a process that died is taken over after 10 minutes.
"""

import hashlib
import json
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from smarketing.api.models import IdempotencyKey
from smarketing.api.problems import Problem, Replay

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
TTL = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=10)
# Response headers stored with the body and sent again on a replay: a retried create must still say where the
# record is and which version it has.
REPLAYED_HEADERS = ("Location", "ETag")
MAX_KEY_LENGTH = 255
# Visible ASCII (0x21-0x7E): what the schema declares and _key_from() checks.
KEY_PATTERN = r"^[!-~]+$"


def fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\n")
    digest.update(request.get_full_path().encode("utf-8", "surrogateescape"))
    digest.update(b"\n")
    digest.update(request.body)
    return digest.hexdigest()


def _key_from(request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not all(33 <= ord(ch) <= 126 for ch in key):
        raise Problem(
            400,
            "validation-error",
            "Invalid Idempotency-Key header.",
            {HEADER: [f"Use 1 to {MAX_KEY_LENGTH} visible ASCII characters, such as a UUID."]},
        )
    return key


def _claim(user, key: str, print_: str) -> IdempotencyKey:
    """The key row, owned by this request; or raises Replay / a 409 or 422 problem."""
    now = timezone.now()
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(user=user, key=key, fingerprint=print_, created_at=now)
        except IntegrityError:
            pass
        row = IdempotencyKey.objects.filter(user=user, key=key).first()
        if row is None:  # released between our insert and our read: try again
            continue
        if row.created_at < now - TTL:
            # Expired: forget it and claim afresh (the conditional delete keeps two racers from both winning).
            IdempotencyKey.objects.filter(pk=row.pk, created_at=row.created_at).delete()
            continue
        if row.fingerprint != print_:
            raise Problem(
                422,
                "idempotency-key-reused",
                "This Idempotency-Key was used with a different request (method, path or body). "
                "Use a new key for a new request.",
            )
        if row.status == IdempotencyKey.Status.DONE:
            response = Response(json.loads(row.response_body or "null"), status=row.response_status)
            for name, value in (row.response_headers or {}).items():
                response[name] = value
            response[REPLAY_HEADER] = "true"
            raise Replay(response)
        taken = IdempotencyKey.objects.filter(
            pk=row.pk, status=IdempotencyKey.Status.IN_PROGRESS, created_at__lt=now - ABANDONED_AFTER
        ).update(created_at=now)
        if taken:
            row.created_at = now
            return row
        raise Problem(
            409,
            "request-in-progress",
            "A request with this Idempotency-Key is still in progress; retry after it finishes.",
            headers={"Retry-After": "1"},
        )
    raise Problem(409, "request-in-progress", "This Idempotency-Key is busy; retry shortly.")


class Outcome:
    """Lets the view report the response it produced, to be stored with the key."""

    def __init__(self, row: IdempotencyKey | None):
        self.row = row
        self.response = None

    def keep(self, response) -> None:
        self.response = response


@contextmanager
def guard(request):
    """Run the body at most once per (user, Idempotency-Key); see the module docstring."""
    key = _key_from(request) if request.method == "POST" else None
    if key is None:
        yield Outcome(None)
        return
    row = _claim(request.user, key, fingerprint(request))
    outcome = Outcome(row)
    kept = False
    try:
        with transaction.atomic():
            yield outcome
            response = outcome.response
            if response is not None and 200 <= response.status_code < 300:
                row.status = IdempotencyKey.Status.DONE
                row.response_status = response.status_code
                row.response_body = json.dumps(response.data, cls=JSONEncoder)
                row.response_headers = {name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)}
                row.save(update_fields=["status", "response_status", "response_body", "response_headers"])
                kept = True
            else:
                transaction.set_rollback(True)
    finally:
        if not kept:
            IdempotencyKey.objects.filter(pk=row.pk, status=IdempotencyKey.Status.IN_PROGRESS).delete()


def purge_expired() -> int:
    """Delete keys older than the TTL; returns how many (run hourly by api.tasks; this only reclaims space,
    since an expired key is replaced anyway when reused)."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - TTL).delete()
    return deleted
