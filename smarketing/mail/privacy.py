"""Mail's privacy hook (see privacy.hooks): what the sender holds about an address.

Export: the suppression entry and the bounce/complaint notices of the person's addresses.
Erasure: the notices keep their kind and time (the campaign figures need them) but lose the address and the
diagnostic (which quotes it); the suppression entry is deleted with the person (the contact record, and its
consent, are gone too: nothing is left to mail); mail the demo's sink captured for them is deleted.
"""

from collections.abc import Iterator
from typing import Any

from smarketing.mail.models import CapturedMessage, FeedbackNotice, Suppression
from smarketing.mail.suppression import normalize
from smarketing.privacy.hooks import CHUNK, Erasure, Subject, erased_email


def _addresses(subject: Subject) -> list[str]:
    found = {normalize(subject.contact.email)} if subject.contact.email else set()
    found.update(i for i in getattr(subject, "identifiers", []) if "@" in i)
    return sorted(a for a in found if a)


def export(subject: Subject) -> dict[str, Any]:
    addresses = _addresses(subject)
    return {
        "email_suppression": list(
            Suppression.objects.filter(email__in=addresses).values("email", "reason", "source", "created_at")
        ),
        "email_feedback": _notices(addresses),
    }


def _notices(addresses: list[str]) -> Iterator[dict]:
    rows = (
        FeedbackNotice.objects.filter(email__in=addresses)
        .order_by("id")
        .values("kind", "email", "diagnostic", "channel", "received_at")
    )
    yield from rows.iterator(chunk_size=CHUNK)


def erase(erasure: Erasure) -> dict[str, int]:
    addresses = _addresses(erasure)
    notices = FeedbackNotice.objects.filter(email__in=addresses).update(
        email=erased_email(erasure.contact.pk), diagnostic=""
    )
    suppressions, _ = Suppression.objects.filter(email__in=addresses).delete()
    # The demo's captured mail (empty outside the demo): recipients are a JSON list, matched here in Python
    # because SQLite has no JSON containment lookup.
    wanted = set(addresses)
    captured = [
        pk
        for pk, recipients in CapturedMessage.objects.values_list("pk", "recipients").iterator(chunk_size=CHUNK)
        if wanted & {normalize(r) for r in recipients or []}
    ]
    deleted, _ = CapturedMessage.objects.filter(pk__in=captured).delete() if captured else (0, None)
    return {"scrub_feedback": notices, "delete_suppressions": suppressions, "delete_captured_mail": deleted}
