"""How fast mail may leave under one sender identity: messages per second and per hour, for all workers at once.

    throttle = Throttle(identity)
    throttle.wait(len(batch))          # sleeps until the batch may go
    delay = throttle.acquire(50)       # or: 0.0 when granted, else seconds until it might be

Each limit is a fixed window (this second, this hour) kept in one ThrottleWindow row per identity and window
length. Taking n slots is a conditional UPDATE that either starts a new window or adds n to the current one
when the sum stays under the limit; the two windows are updated in one transaction, so a grant is all or
nothing. Concurrent takers serialize on the row (PostgreSQL row lock, SQLite's single writer), so the limit
holds across processes. Clocks are the workers' own (time.time()): a worker whose clock runs ahead at most
opens the next window early.

Take slots per chunk of messages, not per message: each take is a short write transaction.
"""

import math
import time

from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, Case, F, PositiveIntegerField, Q, Value, When

from smarketing.mail.models import SenderIdentity, ThrottleWindow

SECOND = ThrottleWindow.Scope.SECOND
HOUR = ThrottleWindow.Scope.HOUR
WINDOW_SECONDS = {SECOND: 1, HOUR: 3600}


class Throttle:
    """The shared send-rate limits of one sender identity (or of a named stream, e.g. "transactional")."""

    def __init__(
        self,
        sender_identity: SenderIdentity | None = None,
        *,
        key: str | None = None,
        per_second: int | None = None,
        per_hour: int | None = None,
        clock=time.time,
        sleep=time.sleep,
    ):
        if sender_identity is None and key is None:
            raise ValueError("a throttle needs a sender identity or a key")
        self.key = key or f"identity:{sender_identity.pk}"
        self.limits = {
            SECOND: per_second if per_second is not None else sender_identity.per_second,
            HOUR: per_hour if per_hour is not None else sender_identity.per_hour,
        }
        if min(self.limits.values()) < 1:
            raise ValueError("throttle limits must be at least 1")
        self.clock = clock
        self.sleep = sleep
        self._rows_exist = False

    @property
    def largest_grant(self) -> int:
        """The most slots one acquire() can ever be granted."""
        return min(self.limits.values())

    def _ensure_rows(self) -> None:
        if self._rows_exist:
            return
        for scope in WINDOW_SECONDS:
            if not ThrottleWindow.objects.filter(key=self.key, scope=scope).exists():
                try:
                    with transaction.atomic():
                        ThrottleWindow.objects.create(key=self.key, scope=scope)
                except IntegrityError:
                    pass  # another process created it first: fine
        self._rows_exist = True

    def acquire(self, n: int = 1) -> float:
        """Take n slots now and return 0.0, or take none and return the seconds until they might be free."""
        if n < 1:
            return 0.0
        if n > self.largest_grant:
            raise ValueError(f"cannot take {n} slots at once (limits {self.limits}); use wait(), which splits")
        self._ensure_rows()
        now = self.clock()
        blocked: list[float] = []
        with transaction.atomic():
            for scope, length in WINDOW_SECONDS.items():
                current = int(now) // length * length
                if not self._take(scope, current, n):
                    blocked.append(current + length - now)
            if blocked:
                # All or nothing: a grant of this second's share must not be kept when the hour is full.
                transaction.set_rollback(True)
        if not blocked:
            return 0.0
        return max(max(blocked), 0.001)

    def _take(self, scope: str, current: int, n: int) -> bool:
        limit = self.limits[scope]
        # A row whose window is older than `current` starts over at n; a row in the current window (or ahead
        # of it, from a worker with a faster clock) grows by n while the limit allows.
        updated = (
            ThrottleWindow.objects.filter(key=self.key, scope=scope)
            .filter(Q(window_start__lt=current) | Q(window_start__gte=current, used__lte=limit - n))
            .update(
                used=Case(
                    When(window_start__lt=current, then=Value(n)),
                    default=F("used") + n,
                    output_field=PositiveIntegerField(),
                ),
                window_start=Case(
                    When(window_start__lt=current, then=Value(current)),
                    default=F("window_start"),
                    output_field=BigIntegerField(),
                ),
            )
        )
        return updated == 1

    def wait(self, n: int = 1) -> float:
        """Block until n slots are taken (in chunks when n is larger than one grant); the seconds slept."""
        slept = 0.0
        remaining = n
        while remaining > 0:
            chunk = min(remaining, self.largest_grant)
            delay = self.acquire(chunk)
            if delay:
                # Sleep to the window's end, not a fixed tick: workers blocked on the same window wake together
                # once, instead of polling the row.
                self.sleep(delay)
                slept += delay
                continue
            remaining -= chunk
        return slept

    def usage(self) -> dict[str, int]:
        """Slots used in the current windows (for a progress page or a test)."""
        now = self.clock()
        result = {}
        for row in ThrottleWindow.objects.filter(key=self.key):
            length = WINDOW_SECONDS[row.scope]
            current = int(now) // length * length
            result[row.scope] = row.used if row.window_start >= current else 0
        return result


def seconds_for(count: int, per_second: int) -> float:
    """The least time `count` messages take at `per_second` (estimates on the campaign page)."""
    return math.ceil(count / max(per_second, 1)) if count else 0.0
