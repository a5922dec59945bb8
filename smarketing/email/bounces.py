"""Bounces and complaints tied to the send they answer: the email app's handler of mail feedback notices.

`mail.feedback.record_notice()` records the notice and suppresses the address (mail knows no campaigns); this
handler, registered in EmailConfig.ready(), runs in the same transaction: it finds the EmailSend by Message-ID,
marks it (bounced_at/bounce_kind, complained_at) with a conditional UPDATE so a second notice for the same
message writes nothing twice, and writes the touch and the outbox event on the contact's timeline.
"""

from smarketing.core.events import publish
from smarketing.crm.models import ConsentStatus
from smarketing.email import kinds
from smarketing.email.models import EmailSend
from smarketing.email.preferences import send_payload, set_consent
from smarketing.mail.models import FeedbackKind, FeedbackNotice
from smarketing.timeline.services import record_touch

HARD = "hard"
SOFT = "soft"


def _send_for(message_id: str) -> EmailSend | None:
    if not message_id:
        return None
    # Stored as sent ("<id@host>"); the bare form too, in case a sender stored it without brackets.
    forms = {message_id, message_id.strip("<>")}
    return (
        EmailSend.objects.select_related("campaign__campaign", "contact")
        .filter(message_id__in=forms)
        .order_by("-id")
        .first()
    )


def on_feedback_notice(notice: FeedbackNotice) -> None:
    send = _send_for(notice.message_id)
    if send is None:
        return
    at = notice.received_at
    sends = EmailSend.objects.filter(pk=send.pk)
    if notice.kind == FeedbackKind.COMPLAINT:
        if not sends.filter(complained_at__isnull=True).update(complained_at=at):
            return
        kind, event, summary = kinds.EMAIL_COMPLAINED, "email.complained", "Marked “{}” as spam"
        details = {"send": send.pk, "notice": notice.pk}
        if send.contact_id:
            # Pressing "spam" is the strongest unsubscribe there is.
            set_consent(send.contact, ConsentStatus.WITHDRAWN, f"Marked campaign {send.campaign.campaign.name} as spam")
    else:
        bounce_kind = HARD if notice.kind == FeedbackKind.HARD_BOUNCE else SOFT
        pending = sends.filter(bounced_at__isnull=True)
        if bounce_kind == HARD:
            # A hard bounce after a soft one for the same message is the verdict: it replaces the soft.
            pending = sends.filter(bounced_at__isnull=True) | sends.filter(bounce_kind=SOFT)
        if not pending.update(bounced_at=at, bounce_kind=bounce_kind):
            return
        kind, event, summary = kinds.EMAIL_BOUNCED, "email.bounced", f"“{{}}” {bounce_kind}-bounced"
        details = {"send": send.pk, "notice": notice.pk, "bounce": bounce_kind, "diagnostic": notice.diagnostic[:300]}
    subject = send.campaign.subject
    if send.contact_id:
        record_touch(
            kind=kind,
            contact=send.contact_id,
            campaign=send.campaign.campaign_id,
            summary=summary.format(subject),
            source="email",
            details=details,
            occurred_at=at,
        )
    publish(event, send, send_payload(send, at=at.isoformat(), **{k: v for k, v in details.items() if k != "send"}))
