"""Email marketing's privacy hook (see privacy.hooks): the sends a person received and what they did with them.

Export: every send (campaign, address, status, when it was sent, opened, clicked, bounced, unsubscribed) and the
preference center's choices. Erasure: the sends keep their facts (the campaign reports count them) but lose the
address; the raw tracking hits of those sends lose the IP address and the user agent; the preferences go with
the person.
"""

from collections.abc import Iterator
from typing import Any

from smarketing.email.models import EmailPreference, EmailSend, TrackingHit
from smarketing.privacy.hooks import CHUNK, Erasure, Subject, erased_email

SEND_FIELDS = (
    "campaign__campaign__name",
    "email",
    "variant",
    "status",
    "sent_at",
    "first_opened_at",
    "opens",
    "first_clicked_at",
    "clicks",
    "bounced_at",
    "bounce_kind",
    "unsubscribed_at",
    "complained_at",
)


def _sends(subject: Subject) -> Iterator[dict]:
    rows = EmailSend.objects.filter(contact=subject.contact).order_by("id").values(*SEND_FIELDS)
    for row in rows.iterator(chunk_size=CHUNK):
        row["campaign"] = row.pop("campaign__campaign__name")
        yield row


def _preferences(subject: Subject) -> dict | None:
    preference = EmailPreference.objects.filter(contact=subject.contact).first()
    if preference is None:
        return None
    return {
        "frequency": preference.frequency,
        "topics_left": list(preference.topics_left.values_list("name", flat=True)),
        "updated_at": preference.updated_at,
    }


def export(subject: Subject) -> dict[str, Any]:
    return {"email_sends": _sends(subject), "email_preferences": _preferences(subject)}


def erase(erasure: Erasure) -> dict[str, int]:
    sends = EmailSend.objects.filter(contact=erasure.contact)
    hits = TrackingHit.objects.filter(send__in=sends.values("id")).exclude(ip=None, user_agent="")
    scrubbed_hits = hits.update(ip=None, user_agent="")
    scrubbed_sends = sends.update(email=erased_email(erasure.contact.pk))
    preferences, _ = EmailPreference.objects.filter(contact=erasure.contact).delete()
    return {
        "scrub_email_sends": scrubbed_sends,
        "scrub_tracking_hits": scrubbed_hits,
        "delete_email_preferences": preferences,
    }
