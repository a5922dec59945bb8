"""What a recipient does from a mail link: unsubscribe (one click or the page), and the preference center.

Every change goes through the CRM's own service for the contact (consent is evidence: status, time and source,
with the audit entry and the contact.updated event), the suppression list (so the very next send skips the
address, whatever the campaign's audience said), and the timeline (touch + outbox event), in one transaction.
The recipient is no user: the actor is the system acting for the email link (Origin.EMAIL).
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.core.events import publish
from smarketing.core.models import Origin
from smarketing.crm import services as crm_services
from smarketing.crm.models import ConsentStatus, Contact, LegalBasis
from smarketing.email import kinds
from smarketing.email.models import EmailPreference, EmailSend, Frequency, Topic
from smarketing.mail import suppression
from smarketing.mail.models import SuppressionReason
from smarketing.timeline.services import record_touch


def _actor():
    return system_actor(Origin.EMAIL)


def campaign_name(send: EmailSend) -> str:
    return send.campaign.campaign.name


def send_payload(send: EmailSend, **extra) -> dict:
    """The payload of an email.* event about one send (webhooks deliver it; keep it to ids and facts)."""
    return {
        "send_id": send.pk,
        "campaign_id": send.campaign.campaign_id,
        "email_campaign_id": send.campaign_id,
        "contact_id": send.contact_id,
        "email": send.email,
        **extra,
    }


def set_consent(contact: Contact, status: str, source: str) -> bool:
    """Change the contact's consent through the CRM service; False when it already had this status."""
    current = Contact.objects.filter(pk=contact.pk).values_list("consent_status", flat=True).first()
    if current is None or current == status:
        return False
    data = {"consent_status": status, "consent_source": source[:200], "consent_at": timezone.now()}
    if status == ConsentStatus.GRANTED:
        data["consent_basis"] = LegalBasis.CONSENT
    crm_services.update_record(contact, actor=_actor(), data=data, origin=Origin.EMAIL)
    return True


@transaction.atomic
def unsubscribe(send: EmailSend, *, one_click: bool = False) -> bool:
    """Unsubscribe the recipient of `send` from marketing mail. Idempotent: True when something changed (the
    first time), False when they were already unsubscribed (nothing written twice)."""
    now = timezone.now()
    # Conditional: two POSTs at once (the provider's one-click and the person's click) mark the send once.
    first_for_send = bool(
        EmailSend.objects.filter(pk=send.pk, unsubscribed_at__isnull=True).update(unsubscribed_at=now)
    )
    name = campaign_name(send)
    source = f"Unsubscribed from campaign {name}"
    suppressed = suppression.suppress(send.email, SuppressionReason.UNSUBSCRIBED, source)
    consent_changed = False
    if send.contact_id:
        consent_changed = set_consent(send.contact, ConsentStatus.WITHDRAWN, source)
    changed = first_for_send or suppressed or consent_changed
    if changed:
        how = "one-click (mail client)" if one_click else "unsubscribe page"
        if send.contact_id:
            record_touch(
                kind=kinds.UNSUBSCRIBED,
                contact=send.contact_id,
                campaign=send.campaign.campaign_id,
                actor=_actor(),
                summary=f"Unsubscribed from “{name}”",
                source="email",
                details={"send": send.pk, "via": how, "email": send.email},
                occurred_at=now,
            )
        publish("email.unsubscribed", send, send_payload(send, via=how, at=now.isoformat()))
    send.unsubscribed_at = send.unsubscribed_at or now
    return changed


@dataclass(frozen=True)
class PreferenceState:
    """What the preference center shows for one recipient."""

    topics: list[Topic]
    topics_left: set[int]
    frequency: str
    unsubscribed: bool  # consent withdrawn or the address suppressed as unsubscribed


def state_of(send: EmailSend) -> PreferenceState:
    topics = list(Topic.objects.all())
    pref = None
    if send.contact_id:
        pref = EmailPreference.objects.filter(contact_id=send.contact_id).first()
    left = set(pref.topics_left.values_list("id", flat=True)) if pref else set()
    reason = suppression.suppressed([send.email]).get(suppression.normalize(send.email))
    withdrawn = bool(send.contact_id) and send.contact.consent_status == ConsentStatus.WITHDRAWN
    return PreferenceState(
        topics=topics,
        topics_left=left,
        frequency=pref.frequency if pref else Frequency.ALL,
        unsubscribed=withdrawn or reason == SuppressionReason.UNSUBSCRIBED,
    )


@transaction.atomic
def save_preferences(
    send: EmailSend, *, topics_kept: set[int], frequency: str, unsubscribe_all: bool = False
) -> list[str]:
    """Save the preference center's form; returns what changed, in words (for the confirmation).

    Unsubscribing from all goes through unsubscribe(); saving the form while unsubscribed, without that box,
    is a re-subscription: consent granted with this page as its evidence, the "unsubscribed" suppression lifted
    (never a bounce or a complaint: those stay suppressed whatever the person says).
    """
    if frequency not in Frequency.values:
        raise ValueError("unknown frequency")
    changes: list[str] = []
    if unsubscribe_all:
        if unsubscribe(send):
            changes.append("Unsubscribed from all marketing email")
        return changes
    name = campaign_name(send)
    before = state_of(send)
    if before.unsubscribed:
        changes.extend(_resubscribe(send, name))
    if not send.contact_id:
        return changes
    all_topics = {t.pk for t in before.topics}
    left = all_topics - set(topics_kept)
    if left != before.topics_left or frequency != before.frequency:
        pref, _ = EmailPreference.objects.select_for_update().get_or_create(contact_id=send.contact_id)
        pref.frequency = frequency
        pref.updated_at = timezone.now()
        pref.save(update_fields=["frequency", "updated_at"])
        pref.topics_left.set(left)
        names = {t.pk: t.name for t in before.topics}
        joined = sorted(names[i] for i in all_topics - left)
        record_touch(
            kind=kinds.PREFERENCES_CHANGED,
            contact=send.contact_id,
            campaign=send.campaign.campaign_id,
            actor=_actor(),
            summary="Changed email preferences",
            source="email",
            details={
                "send": send.pk,
                "frequency": frequency,
                "topics": joined,
                "topics_left": sorted(names[i] for i in left),
            },
        )
        publish(
            "email.preferences_changed",
            send,
            send_payload(send, frequency=frequency, topics=joined, topics_left=sorted(names[i] for i in left)),
        )
        changes.append("Saved your topics and how often you hear from us")
    return changes


def _resubscribe(send: EmailSend, name: str) -> list[str]:
    source = f"Subscribed again in the preference center (campaign {name})"
    reason = suppression.suppressed([send.email]).get(suppression.normalize(send.email))
    lifted = reason == SuppressionReason.UNSUBSCRIBED and suppression.unsuppress(send.email)
    granted = bool(send.contact_id) and set_consent(send.contact, ConsentStatus.GRANTED, source)
    if not (lifted or granted):
        return []
    if send.contact_id:
        record_touch(
            kind=kinds.CONSENT_CHANGED,
            contact=send.contact_id,
            campaign=send.campaign.campaign_id,
            actor=_actor(),
            summary="Subscribed again to marketing email",
            source="email",
            details={"send": send.pk, "consent": ConsentStatus.GRANTED, "evidence": source},
        )
    publish("email.resubscribed", send, send_payload(send))
    return ["Subscribed again to our email"]
