"""Bounces and complaints: one function records a notice and applies the rules, whatever brought it in (the
signed JSON endpoint, a DSN or ARF report parsed by the sink or a mailbox reader).

Rules:
- a hard bounce suppresses the address at once;
- a soft bounce suppresses it once it has soft-bounced `MAIL_SOFT_BOUNCE_LIMIT` times (default 3) within 30
  days (a full mailbox or a greylisting server gets a few chances);
- a complaint (the recipient pressed "spam") suppresses it at once.

`mail` does not know campaigns. The email app registers a handler in its AppConfig.ready()
(`register_handler(func)`); every handler is called with the new notice inside the same transaction, so the
send it answers (found by Message-ID) is marked, the touch and the event written, with the notice or not at
all. A notice delivered twice (same `notice_id`) is recorded once and the handlers run once.
"""

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from smarketing.mail import suppression
from smarketing.mail.models import FeedbackKind, FeedbackNotice, SuppressionReason

SOFT_BOUNCE_WINDOW = timedelta(days=30)

Handler = Callable[[FeedbackNotice], None]
_handlers: list[Handler] = []


def register_handler(func: Handler) -> Handler:
    """Call `func(notice)` for every newly recorded notice, in the recording transaction. Registering the same
    function twice (a reloaded AppConfig) keeps one. Usable as a decorator."""
    if func not in _handlers:
        _handlers.append(func)
    return func


def unregister_handler(func: Handler) -> None:
    if func in _handlers:
        _handlers.remove(func)


def normalize_message_id(value: str) -> str:
    """Message-IDs compared in one form: trimmed, in angle brackets ("<abc@host>"), as in the header we sent."""
    value = (value or "").strip()
    if not value:
        return ""
    return value if value.startswith("<") else f"<{value.strip('<>')}>"


def record_notice(
    *,
    kind: str,
    email: str,
    message_id: str = "",
    notice_id: str | None = None,
    diagnostic: str = "",
    channel: str,
    received_at=None,
) -> FeedbackNotice | None:
    """Record one bounce or complaint and apply the rules; None when a notice with this `notice_id` was
    already recorded (nothing is done a second time)."""
    if kind not in FeedbackKind.values:
        raise ValueError(f"unknown feedback kind {kind!r}")
    email = suppression.normalize(email)
    if not email:
        raise ValueError("a feedback notice needs the recipient's address")
    with transaction.atomic():
        try:
            # The savepoint lets a duplicate hit the unique notice_id without spoiling the outer transaction
            # (a batch of notices posted twice records the new ones and skips the old).
            with transaction.atomic():
                notice = FeedbackNotice.objects.create(
                    kind=kind,
                    email=email,
                    message_id=normalize_message_id(message_id)[:255],
                    notice_id=(notice_id or None) and str(notice_id)[:255],
                    diagnostic=(diagnostic or "")[:2000],
                    channel=channel[:20],
                    received_at=received_at or timezone.now(),
                )
        except IntegrityError:
            return None
        notice.suppressed = _apply_rules(notice)  # for the handlers and the caller: did this notice suppress?
        for handler in list(_handlers):
            handler(notice)
    return notice


def _apply_rules(notice: FeedbackNotice) -> bool:
    source = f"{notice.get_kind_display()} notice {notice.pk}"
    if notice.kind == FeedbackKind.HARD_BOUNCE:
        return suppression.suppress(notice.email, SuppressionReason.HARD_BOUNCE, source)
    if notice.kind == FeedbackKind.COMPLAINT:
        return suppression.suppress(notice.email, SuppressionReason.COMPLAINT, source)
    # Soft: counted over the window by the (email, -received_at) index; this notice is among them.
    since = notice.received_at - SOFT_BOUNCE_WINDOW
    soft = FeedbackNotice.objects.filter(
        email=notice.email, kind=FeedbackKind.SOFT_BOUNCE, received_at__gt=since, received_at__lte=notice.received_at
    ).count()
    if soft >= settings.MAIL_SOFT_BOUNCE_LIMIT:
        return suppression.suppress(
            notice.email, SuppressionReason.SOFT_BOUNCES, f"{soft} soft bounces in 30 days (notice {notice.pk})"
        )
    return False
