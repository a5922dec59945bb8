"""The transactional stream: booking confirmations, notifications, double opt-in, sent once each.

    send_transactional(kind="double_opt_in", to_email=..., subject=..., text=..., html=...)

queues a TransactionalMessage and, once the caller's transaction commits, a retrying job that sends it
through the same SMTP session code and DKIM signature as campaigns, marked `X-Smarketing-Stream:
transactional`. Transactional mail ignores marketing suppression (someone who unsubscribed from newsletters
still gets their booking confirmation) and is never counted in campaign figures (its own table).

Exactly once: an attempt claims the row with a conditional UPDATE (queued → sending, attempts + 1) and commits
"sent" in SmtpSession's before_final_dot, conditional on still holding that claim. A row found "sending" long
after its claim never reached the final dot, so it is claimed again; if the first attempt was only slow, its
own "sent" update then matches nothing, the transport hangs up without the dot, and nothing is sent twice.
"""

import logging
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from smarketing.mail import dkim
from smarketing.mail.message import (
    check_address,
    check_calendar_method,
    check_header,
    make_message_id,
    render_message,
)
from smarketing.mail.models import Stream, TransactionalMessage
from smarketing.mail.transport import SmtpSession, TransportError

logger = logging.getLogger(__name__)

Status = TransactionalMessage.Status
MAX_ATTEMPTS = 8  # with the job's backoff (1 min doubling, capped at 1 h): about 4 hours of retries
# A claim older than this is a dead attempt (longer than any SMTP transaction with EMAIL_TIMEOUT).
STALE_CLAIM = timedelta(minutes=5)


class TemporaryFailure(Exception):
    """The server answered 4xx or could not be reached: the job retries with backoff."""


class Superseded(Exception):
    """Another attempt claimed the message meanwhile; this one must not finish the DATA."""


def envelope_sender() -> tuple[str, str]:
    """(name, address) of transactional mail: DEFAULT_FROM_EMAIL, "Name <address>" or a bare address."""
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return name, address


def send_transactional(
    *,
    kind: str,
    to_email: str,
    subject: str,
    text: str,
    html: str = "",
    calendar: bytes | str = "",
    calendar_method: str = "",
) -> TransactionalMessage:
    """Queue one transactional message; it is sent by a background job after the current transaction commits.

    Bad addresses and header injection are refused here (ValueError), not in the job, so the caller sees them.
    `calendar` (an .ics) goes out as a text/calendar part with `calendar_method` (REQUEST, CANCEL...).
    """
    to_email = check_address(to_email, "to")
    check_header(subject, "subject")
    check_header(kind, "kind")
    if isinstance(calendar, bytes):
        calendar = calendar.decode("utf-8")
    if calendar:
        check_calendar_method(calendar_method)
    message = TransactionalMessage.objects.create(
        kind=kind[:50],
        to_email=to_email,
        subject=subject[:300],
        text=text,
        html=html,
        calendar=calendar,
        calendar_method=calendar_method if calendar else "",
        message_id=make_message_id(),
    )
    transaction.on_commit(lambda: _enqueue(message.pk))
    return message


def _enqueue(message_pk: int) -> None:
    from smarketing.mail.tasks import deliver_transactional

    deliver_transactional.enqueue(message_pk)


def claim(message_pk: int) -> TransactionalMessage | None:
    """Take the message for one attempt (conditional UPDATE), or None when it is not this attempt's to send."""
    now = timezone.now()
    claimed = (
        TransactionalMessage.objects.filter(pk=message_pk)
        .filter(Q(status=Status.QUEUED) | Q(status=Status.SENDING, claimed_at__lt=now - STALE_CLAIM))
        .update(status=Status.SENDING, attempts=F("attempts") + 1, claimed_at=now)
    )
    if not claimed:
        return None
    return TransactionalMessage.objects.get(pk=message_pk)


def deliver(message_pk: int, *, session: SmtpSession | None = None) -> str:
    """One attempt at sending a queued message: "sent", "failed", "skipped"; TemporaryFailure to retry."""
    message = claim(message_pk)
    if message is None:
        return "skipped"
    attempt = message.attempts
    mine = TransactionalMessage.objects.filter(pk=message.pk, status=Status.SENDING, attempts=attempt)
    from_name, from_email = envelope_sender()
    try:
        raw = dkim.sign(
            render_message(
                from_name=from_name,
                from_email=from_email,
                to_email=message.to_email,
                subject=message.subject,
                text=message.text,
                html=message.html,
                stream=Stream.TRANSACTIONAL,
                message_id=message.message_id or None,
                calendar=message.calendar,
                calendar_method=message.calendar_method,
            )
        )
    except ValueError as exc:  # stored before the checks existed, or DEFAULT_FROM_EMAIL is wrong
        mine.update(status=Status.FAILED, error=f"Not sendable: {exc}"[:1000])
        return "failed"
    except dkim.DkimError as exc:  # a key file being rotated or fixed: worth a later attempt, not a failure now
        return _temporary(message, attempt, str(exc))

    def commit_sent():
        # Autocommit: this UPDATE is durable before the final dot goes out (see the module docstring).
        if not mine.update(status=Status.SENT, sent_at=timezone.now(), error=""):
            raise Superseded(f"transactional message {message.pk} was claimed by another attempt")

    own_session = session is None
    smtp = session or SmtpSession()
    try:
        result = smtp.send(from_email, [message.to_email], raw, before_final_dot=commit_sent)
    except Superseded:
        return "skipped"
    except TransportError as exc:
        return _temporary(message, attempt, str(exc))
    finally:
        if own_session:
            smtp.close()
    if result.ok:
        return "sent"
    if result.code == 0:
        # The connection broke after "sent" was committed: it may have been delivered. Never sent twice.
        TransactionalMessage.objects.filter(pk=message.pk, status=Status.SENT).update(error=result.text[:1000])
        logger.warning("transactional message %s: outcome unknown (%s)", message.pk, result.text)
        return "sent"
    # The server refused at the end of DATA or before it: it took no responsibility, so "sent" is undone.
    undo = TransactionalMessage.objects.filter(
        pk=message.pk, attempts=attempt, status__in=(Status.SENDING, Status.SENT)
    )
    if result.permanent:
        undo.update(status=Status.FAILED, sent_at=None, error=f"{result.code} {result.text}"[:1000])
        return "failed"
    undo.update(status=Status.SENDING, sent_at=None)
    return _temporary(message, attempt, f"{result.code} {result.text}")


def _temporary(message: TransactionalMessage, attempt: int, error: str) -> str:
    """Back to queued for the next attempt, or failed after the last one; raises TemporaryFailure to retry."""
    mine = TransactionalMessage.objects.filter(pk=message.pk, status=Status.SENDING, attempts=attempt)
    if attempt >= MAX_ATTEMPTS:
        mine.update(status=Status.FAILED, error=f"Gave up after {attempt} attempts: {error}"[:1000])
        return "failed"
    mine.update(status=Status.QUEUED, error=error[:1000])
    raise TemporaryFailure(error)


def requeue_stale() -> int:
    """Enqueue an attempt for messages whose attempt died mid-way (worker killed); the claim sorts it out."""
    cutoff = timezone.now() - STALE_CLAIM
    stale = list(
        TransactionalMessage.objects.filter(status=Status.SENDING, claimed_at__lt=cutoff).values_list("pk", flat=True)[
            :500
        ]
    )
    for pk in stale:
        _enqueue(pk)
    return len(stale)
