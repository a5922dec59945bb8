"""The claim loop: how a campaign's sends leave, exactly once, whatever crashes.

Several workers may run `run()` for the same campaign at once. Each round:

1. **Claim** a batch of due queued sends: queued → sending, claimed_by = this worker, in one statement
   (PostgreSQL: `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`, so two workers never
   wait on or take the same rows; SQLite: the same UPDATE in an IMMEDIATE transaction, writers being serialized).
2. **Suppress at send time**, set-based for the batch: a contact gone or withdrawn, consent missing where the
   campaign requires it, an address on the suppression list (unsubscribed, hard bounce, complaint), a topic the
   contact left, a frequency cap. What was true when the audience was frozen does not matter; what is true now
   does.
3. **Send** each message over one SMTP connection (reused across the batch), throttled per sender identity. The
   send row is marked sent (its own autocommitted conditional UPDATE, `WHERE status='sending' AND
   claimed_by=me`) from `before_final_dot`: after the whole message is on the wire and before the "." that
   makes the server accept it. So a SIGKILL before the "sent" commit leaves the row 'sending' and the server
   discards the half message (recovered later and sent once); a SIGKILL after the dot finds the row already
   'sent'. If the mark finds the claim gone (another worker recovered it), the dot is never sent. What SMTP
   cannot give is the third case: a kill while the commit is in flight (its round trip, about a millisecond
   under load) or between it and the dot. That message is sent at most once, never twice, and may be lost: the
   recovery marks it in doubt (at most one per crashed worker, see `record_orphans`).
4. Per batch, set-based: the `email_sent` touches and the `email.sent` events of what was sent, and the claims
   of those rows cleared in the same transaction. A worker killed mid-batch leaves its sent rows claimed; the
   recovery records them.

4xx replies and connection errors put the send back in the queue with a backoff (failed after MAX_ATTEMPTS);
a 5xx fails that recipient only (and records a hard bounce for 5.1.x). Claims of a worker whose heartbeat
stopped (or claimed longer ago than CLAIM_TIMEOUT) go back to the queue (`recover`). Pause and cancel are read
between messages.
"""

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Min
from django.utils import timezone
from django.utils.crypto import get_random_string

from smarketing.core.bulk import bulk_insert
from smarketing.core.models import Event, WorkerHeartbeat
from smarketing.email.audience import HELD, db_datetime
from smarketing.email.models import CampaignStatus, EmailCampaign, EmailLink, EmailSend, SendStatus

logger = logging.getLogger(__name__)

BATCH = settings.EMAIL_SEND_BATCH
MAX_ATTEMPTS = 5
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
# Sends claimed longer ago than this go back to the queue even if their worker still beats (a stuck worker).
CLAIM_TIMEOUT = timedelta(minutes=15)
STATUS_CHECK_EVERY = 25  # messages between two reads of the campaign's status (pause, cancel)
# Messages taken from the throttle at once: one throttle transaction per chunk, not per message, and at most a
# fifth of a second's allowance, so several workers still share the sender's rate evenly.
THROTTLE_CHUNK_MAX = 50
HARD_BOUNCE_CODES = ("5.1.", "5.0.0")

_local_id = f"{socket.gethostname()[:40]}-{os.getpid()}-{get_random_string(8)}"


def local_worker_id() -> str:
    """Who claims when the caller is not a worker process (tests, the shell): this process."""
    return _local_id


class ClaimLost(Exception):
    """The send was taken from us (recovered for a worker presumed dead): the message must not be completed."""


@dataclass
class Outcome:
    """What one run did (the job's result, the bench's figures)."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    suppressed: int = 0
    released: int = 0
    stopped: str = ""
    sent_ids: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "retried": self.retried,
            "suppressed": self.suppressed,
            "released": self.released,
            "stopped": self.stopped,
        }


# -- claims --------------------------------------------------------------------------------------------------
def claim(ec_id: int, worker_id: str, limit: int = BATCH, now: datetime | None = None) -> list[tuple]:
    """Claim up to `limit` due queued sends; returns [(id, contact_id, email, token, variant, attempts)]."""
    now = now or timezone.now()
    table = EmailSend._meta.db_table
    due = (
        f"SELECT id FROM {table} WHERE campaign_id = %s AND status = 'queued' AND send_after <= %s "
        "ORDER BY send_after, id LIMIT %s"
    )
    returning = "RETURNING id, contact_id, email, token, variant, attempts"
    if connection.vendor == "postgresql":
        # A materialized CTE: with `id IN (subquery LIMIT n)` the planner may run the subquery more than once
        # (a semi-join rescan) and claim more than n rows; the CTE is evaluated exactly once.
        sql = (
            f"WITH picked AS MATERIALIZED ({due} FOR UPDATE SKIP LOCKED) "
            f"UPDATE {table} s SET status = 'sending', claimed_by = %s, claimed_at = %s FROM picked "
            f"WHERE s.id = picked.id AND s.status = 'queued' {returning.replace('RETURNING id,', 'RETURNING s.id,')}"
        )
        params = [ec_id, db_datetime(now), limit, worker_id, db_datetime(now)]
    else:
        sql = (
            f"UPDATE {table} SET status = 'sending', claimed_by = %s, claimed_at = %s "
            f"WHERE status = 'queued' AND id IN ({due}) {returning}"
        )
        params = [worker_id, db_datetime(now), ec_id, db_datetime(now), limit]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    rows.sort()
    return rows


def recover(ec_id: int, now: datetime | None = None) -> int:
    """Sends left 'sending' by a worker that stopped beating (or claimed very long ago) → queued again.

    Safe against a worker that is only slow: its mark-sent is conditional on its claim, so once we take the row
    back its dot is never sent, and a row it already marked sent is no longer 'sending' here.
    """
    now = now or timezone.now()
    grace = timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE)
    sending = EmailSend.objects.filter(campaign_id=ec_id, status=SendStatus.SENDING)
    unrecorded = EmailSend.objects.filter(campaign_id=ec_id, status=SendStatus.SENT).exclude(claimed_by="")
    claimers = set(sending.values_list("claimed_by", flat=True).distinct().order_by())
    claimers |= set(unrecorded.values_list("claimed_by", flat=True).distinct().order_by())
    if not claimers:
        return 0
    alive = set(WorkerHeartbeat.objects.alive(now).values_list("worker_id", flat=True))
    alive.add(local_worker_id())
    dead = [c for c in claimers if c not in alive]
    recovered = 0
    if dead:
        recovered += sending.filter(claimed_by__in=dead, claimed_at__lt=now - grace).update(
            status=SendStatus.QUEUED, claimed_by="", claimed_at=None
        )
        record_orphans(ec_id, dead)
    recovered += sending.filter(claimed_at__lt=now - CLAIM_TIMEOUT).update(
        status=SendStatus.QUEUED, claimed_by="", claimed_at=None
    )
    if recovered:
        logger.warning("campaign %s: %s sends of stopped workers back in the queue", ec_id, recovered)
    return recovered


IN_DOUBT = "in doubt: its worker stopped between marking it sent and the server's reply; never sent twice"


def record_orphans(ec_id: int, dead: list[str]) -> int:
    """The sent messages of a batch whose worker died before recording it: their touches, events and counters.

    A worker records its sent messages (touches, `email.sent` events) once per batch and clears their claim in
    the same transaction, so sent rows still carrying the claim of a dead worker are exactly the ones it sent
    and never recorded. A worker sends one message at a time, so all of them but its last got the server's
    250 before the next one was marked; the last may have been cut off between our "sent" commit and the
    final dot: it is marked in doubt (at most one per crashed worker), and it is never sent again.
    """
    ec = EmailCampaign.objects.filter(pk=ec_id).first()
    if ec is None:
        return 0
    recorded = 0
    for worker in dead:
        with transaction.atomic():
            orphans = EmailSend.objects.filter(campaign_id=ec_id, status=SendStatus.SENT, claimed_by=worker)
            rows = list(
                orphans.select_for_update(of=("self",))
                .order_by("sent_at", "id")
                .values_list("id", "contact_id", "contact__company_id", "sent_at")
            )
            if not rows or orphans.filter(id__in=[r[0] for r in rows]).update(claimed_by="") != len(rows):
                continue  # another recovery took them first
            EmailSend.objects.filter(id=rows[-1][0]).update(error=IN_DOUBT)
            record_sent(ec, rows, clear_claims=False)
            EmailCampaign.objects.filter(pk=ec_id).update(sent_count=F("sent_count") + len(rows))
        logger.warning(
            "campaign %s: recorded %s sent messages of stopped worker %s; send %s is in doubt",
            ec_id,
            len(rows),
            worker,
            rows[-1][0],
        )
        recorded += len(rows)
    return recorded


def release(ids: list[int], worker_id: str) -> int:
    """Hand back claims we will not send now (pause, connection trouble)."""
    if not ids:
        return 0
    return EmailSend.objects.filter(id__in=ids, status=SendStatus.SENDING, claimed_by=worker_id).update(
        status=SendStatus.QUEUED, claimed_by="", claimed_at=None
    )


def _mark(send_id: int, worker_id: str, **values) -> int:
    return EmailSend.objects.filter(id=send_id, status=SendStatus.SENDING, claimed_by=worker_id).update(**values)


_MARK_SENT_SQL = (
    f"UPDATE {EmailSend._meta.db_table} SET status = %s, sent_at = %s, message_id = %s"
    " WHERE id = %s AND status = %s AND claimed_by = %s"
)


def mark_sent(send_id: int, worker_id: str, at: datetime, message_id: str) -> int:
    """The commit before the final dot, once per message: one plain statement (the ORM's query building cost
    about as much as the round trip), conditional on our claim so a recovered send is never marked twice."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            _MARK_SENT_SQL,
            [SendStatus.SENT, at, message_id, send_id, SendStatus.SENDING, worker_id],
        )
        return cursor.rowcount


def retry_later(send_id: int, worker_id: str, attempts: int, error: str, now: datetime) -> str:
    """A temporary failure: back to the queue after a backoff, or failed once the attempts are used up."""
    attempts += 1
    if attempts >= MAX_ATTEMPTS:
        _mark(send_id, worker_id, status=SendStatus.FAILED, attempts=attempts, error=error[:500])
        return "failed"
    delay = BACKOFF[min(attempts - 1, len(BACKOFF) - 1)]
    _mark(
        send_id,
        worker_id,
        status=SendStatus.QUEUED,
        attempts=attempts,
        error=error[:500],
        send_after=now + delay,
        claimed_by="",
        claimed_at=None,
    )
    return "retried"


# -- suppression at send time ------------------------------------------------------------------------------------
def suppression_reasons(ec: EmailCampaign, rows: list[tuple], now: datetime) -> dict[int, str]:
    """{send id: reason} for the claimed sends that must not go out now. A constant number of queries."""
    from smarketing.crm.models import ConsentStatus, Contact
    from smarketing.email.models import EmailPreference, Frequency
    from smarketing.mail.suppression import suppressed

    contact_ids = [r[1] for r in rows if r[1] is not None]
    consent = dict(Contact.objects.filter(id__in=contact_ids).values_list("id", "consent_status"))
    listed = suppressed([r[2] for r in rows])
    prefs = {
        p.contact_id: p
        for p in EmailPreference.objects.filter(contact_id__in=contact_ids).prefetch_related("topics_left")
    }
    capped: set[int] = set()
    caps = {Frequency.WEEKLY: timedelta(days=7), Frequency.MONTHLY: timedelta(days=30)}
    for frequency, window in caps.items():
        ids = [cid for cid, p in prefs.items() if p.frequency == frequency]
        if ids:
            capped |= set(
                EmailSend.objects.filter(contact_id__in=ids, status=SendStatus.SENT, sent_at__gte=now - window)
                .exclude(campaign_id=ec.pk)
                .values_list("contact_id", flat=True)
            )
    reasons = {}
    for send_id, contact_id, email, *_ in rows:
        status = consent.get(contact_id)
        pref = prefs.get(contact_id)
        if contact_id is None or status is None:
            reasons[send_id] = "contact_deleted"
        elif status == ConsentStatus.WITHDRAWN:
            reasons[send_id] = "unsubscribed"
        elif ec.requires_consent and status != ConsentStatus.GRANTED:
            reasons[send_id] = "no_consent"
        elif email.strip().lower() in listed:
            reasons[send_id] = listed[email.strip().lower()]
        elif pref is not None and ec.topic_id and any(t.pk == ec.topic_id for t in pref.topics_left.all()):
            reasons[send_id] = "topic_left"
        elif contact_id in capped:
            reasons[send_id] = "frequency_cap"
    return reasons


def apply_suppression(reasons: dict[int, str], worker_id: str) -> int:
    """One UPDATE per distinct reason (a handful), conditional on our claim."""
    by_reason: dict[str, list[int]] = {}
    for send_id, reason in reasons.items():
        by_reason.setdefault(reason, []).append(send_id)
    done = 0
    for reason, ids in by_reason.items():
        done += EmailSend.objects.filter(id__in=ids, status=SendStatus.SENDING, claimed_by=worker_id).update(
            status=SendStatus.SUPPRESSED, suppressed_reason=reason[:30], claimed_by=""
        )
    return done


# -- after a batch -----------------------------------------------------------------------------------------------
def send_payload(ec: EmailCampaign, send_id: int, contact_id, sent_at: datetime) -> dict:
    """The payload of an email.sent event (the one function every writer of the event uses)."""
    return {
        "send_id": send_id,
        "campaign_id": ec.campaign_id,
        "email_campaign_id": ec.pk,
        "contact_id": contact_id,
        "sent_at": sent_at.isoformat(),
    }


def record_sent(
    ec: EmailCampaign, sent: list[tuple[int, int, int | None, datetime]], *, clear_claims: bool = True
) -> None:
    """Touches and events of a batch's sent messages: three statements, whatever the batch size.

    `sent`: [(send id, contact id, company id, sent_at)]. Clearing the rows' claim in the same transaction is
    what tells a recovery that they are recorded (`record_orphans`).
    """
    from smarketing.core.events import check_declared, notify_on_commit
    from smarketing.email.kinds import EMAIL_SENT
    from smarketing.timeline.models import Team
    from smarketing.timeline.services import record_touches

    if not sent:
        return
    summary = f"Sent “{ec.subject}”"[:300]
    check_declared("email.sent")
    with transaction.atomic():
        record_touches(
            {
                "kind": EMAIL_SENT,
                "team": Team.MARKETING,
                "summary": summary,
                "contact": contact_id,
                "company": company_id,
                "campaign": ec.campaign_id,
                "source": "email",
                "details": {"send_id": send_id},
                "occurred_at": at,
            }
            for send_id, contact_id, company_id, at in sent
            if contact_id is not None
        )
        bulk_insert(
            [
                Event(
                    name="email.sent",
                    occurred_at=at,
                    object_type="email.emailsend",
                    object_id=str(send_id),
                    payload=send_payload(ec, send_id, contact_id, at),
                )
                for send_id, contact_id, company_id, at in sent
            ]
        )
        if clear_claims:
            EmailSend.objects.filter(id__in=[row[0] for row in sent], status=SendStatus.SENT).update(claimed_by="")
        notify_on_commit()


def finish_if_done(ec_id: int) -> bool:
    """sending → sent once nothing is queued or claimed; else wake up again when the next send is due."""
    from smarketing.core.events import publish
    from smarketing.email import services, tasks

    open_sends = EmailSend.objects.filter(campaign_id=ec_id, status__in=(SendStatus.QUEUED, SendStatus.SENDING))
    if open_sends.exists():
        next_due = open_sends.filter(status=SendStatus.QUEUED).aggregate(at=Min("send_after"))["at"]
        if next_due is not None and next_due > timezone.now() and next_due < HELD - timedelta(days=1):
            tasks.wake_senders(ec_id, run_after=next_due, count=1)
        return False
    now = timezone.now()
    with transaction.atomic():
        # An automated campaign (a workflow's email step) keeps sending for as long as its workflow runs.
        if not EmailCampaign.objects.filter(pk=ec_id, status=CampaignStatus.SENDING, automated=False).update(
            status=CampaignStatus.SENT, finished_at=now, updated_at=now
        ):
            return False
        ec = EmailCampaign.objects.get(pk=ec_id)
        counts = services.progress(ec)
        publish(
            "campaign.sent",
            ec,
            {"campaign_id": ec.campaign_id, **{k: counts[k] for k in ("sent", "failed", "suppressed", "total")}},
        )
    return True


# -- the loop ----------------------------------------------------------------------------------------------------
class Sender:
    """One worker's run over one campaign: the compiled email, the SMTP session, the throttle."""

    def __init__(self, ec: EmailCampaign, worker_id: str):
        from smarketing.email.rendering import CompiledEmail
        from smarketing.mail.throttle import Throttle

        self.ec = ec
        self.worker_id = worker_id
        self.compiled = CompiledEmail.from_campaign(ec)
        self.positions = list(
            EmailLink.objects.filter(campaign=ec).order_by("position").values_list("position", flat=True)
        )
        self.identity = ec.sender
        # DSNs go to the bounce address when one is set (the sink parses them), else back to the sender.
        self.envelope_from = settings.MAIL_BOUNCE_ADDRESS or self.identity.from_email
        self.throttle = Throttle(self.identity)
        self.allowance = 0
        self.outcome = Outcome()

    def campaign_status(self) -> str:
        return EmailCampaign.objects.filter(pk=self.ec.pk).values_list("status", flat=True).first() or ""

    def take_throttle(self) -> None:
        if self.allowance <= 0:
            chunk = min(THROTTLE_CHUNK_MAX, max(1, self.identity.per_second // 5), self.throttle.largest_grant)
            self.throttle.wait(chunk)
            self.allowance = chunk
        self.allowance -= 1

    def message_bytes(self, row: tuple, context: dict, message_id: str) -> bytes:
        from smarketing.email.links import list_unsubscribe_headers, tracking_context
        from smarketing.mail.dkim import dkim_enabled, sign
        from smarketing.mail.message import render_message

        send_id, contact_id, email, token, variant, attempts = row
        merged = {**context, **tracking_context(token, self.positions)}
        rendered = self.compiled.render(merged, variant=variant)
        contact = context.get("contact") or {}
        # The display name is cosmetic: contact data with line breaks is folded to one line (never a header break).
        to_name = " ".join(" ".join(str(contact.get(k) or "") for k in ("first_name", "last_name")).split())
        # render_message writes the MIME bytes directly (no email-package object model: milliseconds a message).
        data = render_message(
            from_name=self.identity.from_name,
            from_email=self.identity.from_email,
            to_email=email,
            to_name=to_name,
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            reply_to=self.identity.reply_to,
            headers=list_unsubscribe_headers(token),
            stream="marketing",
            message_id=message_id,
        )
        return sign(data) if dkim_enabled() else data

    def run(self) -> Outcome:
        from smarketing.mail.transport import SmtpSession, TransportError

        session = SmtpSession()
        try:
            session.open()  # before claiming anything: with the server down, nothing is taken from the queue
        except TransportError as error:
            logger.warning("campaign %s: SMTP server unreachable (%s); will try again", self.ec.pk, error)
            self.outcome.stopped = "connection"
            return self.outcome
        try:
            while not self.outcome.stopped:
                rows = claim(self.ec.pk, self.worker_id)
                if not rows:
                    break
                self.send_batch(session, rows)
        finally:
            session.close()
        return self.outcome

    def send_batch(self, session, rows: list[tuple]) -> None:
        from smarketing.crm.models import Contact
        from smarketing.email.merge import recipient_contexts
        from smarketing.mail.message import HeaderInjection, make_message_id
        from smarketing.mail.transport import TransportError

        now = timezone.now()
        before = (self.outcome.sent, self.outcome.failed, self.outcome.suppressed)
        reasons = suppression_reasons(self.ec, rows, now)
        self.outcome.suppressed += apply_suppression(reasons, self.worker_id)
        rows = [r for r in rows if r[0] not in reasons]
        contact_ids = [r[1] for r in rows]
        contexts = recipient_contexts(contact_ids, campaign=self.ec) if contact_ids else {}
        companies = dict(Contact.objects.filter(id__in=contact_ids).values_list("id", "company_id"))
        sent: list[tuple] = []
        try:
            for index, row in enumerate(rows):
                send_id, contact_id, email, token, variant, attempts = row
                if index and index % STATUS_CHECK_EVERY == 0 and self.campaign_status() != CampaignStatus.SENDING:
                    self.stop_batch(rows[index:])
                    break
                message_id = make_message_id()
                try:
                    data = self.message_bytes(row, contexts.get(contact_id, {}), message_id)
                except (HeaderInjection, ValueError) as error:
                    # A contact whose data cannot make a safe message (CR/LF in a name or address): that one only.
                    _mark(send_id, self.worker_id, status=SendStatus.FAILED, error=f"refused: {error}"[:500])
                    self.outcome.failed += 1
                    continue
                self.take_throttle()
                at = timezone.now()

                def before_final_dot(send_id=send_id, message_id=message_id, at=at):
                    if not mark_sent(send_id, self.worker_id, at, message_id):
                        raise ClaimLost(send_id)

                try:
                    result = session.send(self.envelope_from, [email], data, before_final_dot=before_final_dot)
                except ClaimLost:
                    logger.warning("send %s was recovered by another worker; message abandoned", send_id)
                    continue
                except TransportError as error:
                    self.outcome.retried += retry_later(send_id, self.worker_id, attempts, str(error), at) == "retried"
                    self.stop_batch(rows[index + 1 :], reason="connection")
                    break
                if result.ok or (result.code == 0 and not result.permanent):
                    # code 0: the connection broke after the whole message and our "sent" commit; it may well
                    # have been delivered, so it stays sent (never risk a second copy).
                    sent.append((send_id, contact_id, companies.get(contact_id), at))
                    self.outcome.sent += 1
                    continue
                # Rejected, whether before DATA or after the dot (then we had already marked it sent: undo that,
                # since the server refused the message, nothing was delivered).
                self.rejected(row, result, message_id, at)
        finally:
            record_sent(self.ec, sent)
            sent_n, failed_n, suppressed_n = (
                after - then
                for after, then in zip(
                    (self.outcome.sent, self.outcome.failed, self.outcome.suppressed), before, strict=True
                )
            )
            if sent_n or failed_n or suppressed_n:
                EmailCampaign.objects.filter(pk=self.ec.pk).update(
                    sent_count=F("sent_count") + sent_n,
                    failed_count=F("failed_count") + failed_n,
                    suppressed_count=F("suppressed_count") + suppressed_n,
                )

    def rejected(self, row: tuple, result, message_id: str, at: datetime) -> None:
        send_id, contact_id, email, token, variant, attempts = row
        EmailSend.objects.filter(id=send_id, status=SendStatus.SENT, claimed_by=self.worker_id).update(
            status=SendStatus.SENDING, sent_at=None
        )
        error = f"{result.code} {result.text}"[:500]
        if result.permanent:
            _mark(send_id, self.worker_id, status=SendStatus.FAILED, error=error, bounced_at=at, bounce_kind="hard")
            self.outcome.failed += 1
            if any(str(result.text).startswith(code) or f" {code}" in str(result.text) for code in HARD_BOUNCE_CODES):
                from smarketing.mail.feedback import record_notice

                record_notice(kind="hard_bounce", email=email, message_id=message_id, diagnostic=error, channel="smtp")
        elif retry_later(send_id, self.worker_id, attempts, error, at) == "retried":
            self.outcome.retried += 1
        else:
            self.outcome.failed += 1

    def stop_batch(self, rest: list[tuple], reason: str = "") -> None:
        """Hand back what we will not send now; a cancelled campaign's claims become cancelled instead."""
        ids = [r[0] for r in rest]
        status = reason or self.campaign_status()
        if status == CampaignStatus.CANCELLED:
            EmailSend.objects.filter(id__in=ids, status=SendStatus.SENDING, claimed_by=self.worker_id).update(
                status=SendStatus.CANCELLED, claimed_by=""
            )
        else:
            self.outcome.released += release(ids, self.worker_id)
        self.outcome.stopped = status or "stopped"


def run(ec_id: int, worker_id: str | None = None) -> Outcome:
    """Send what is due of one campaign (the job `email.tasks.send_campaign`); several workers may run it."""
    worker_id = worker_id or local_worker_id()
    ec = EmailCampaign.objects.select_related("campaign", "sender").filter(pk=ec_id).first()
    if ec is None or ec.status != CampaignStatus.SENDING:
        return Outcome(stopped=ec.status if ec else "missing")
    recover(ec.pk)
    started = time.monotonic()
    outcome = Sender(ec, worker_id).run()
    finish_if_done(ec.pk)
    logger.info("campaign %s: %s in %.1f s by %s", ec.pk, outcome.as_dict(), time.monotonic() - started, worker_id)
    return outcome
