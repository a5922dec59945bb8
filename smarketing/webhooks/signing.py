"""Webhook signatures: X-Smarketing-Signature = "v1=" + hex HMAC-SHA256(secret, f"{timestamp}.{body}").

The timestamp (X-Smarketing-Timestamp, Unix seconds) is part of what is signed, so a receiver that rejects old
timestamps also rejects replayed requests. docs/webhooks.md has the receiver's side of this.
"""

import hashlib
import hmac
import time

SCHEME = "v1"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return f"{SCHEME}=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str, *, now: float | None = None) -> bool:
    """The receiver's check (used by the tests; the documented recipe is the same)."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - ts) > TOLERANCE_SECONDS:
        return False
    expected = signature(secret, ts, body)
    return any(hmac.compare_digest(expected, part.strip()) for part in (header or "").split(","))
