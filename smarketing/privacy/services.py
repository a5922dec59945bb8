"""Privacy requests: export everything held about a contact (right of access) and erase a contact (right to erasure).

Both are admin-only and both are recorded in the audit log ("privacy_export", "privacy_erase").

Every app that holds personal data answers for its own rows in its `privacy.py` (the contract is in
privacy/hooks.py); this module only orchestrates them:

Export: export_contact() merges the sections of every app's export hook into one dict whose large sections
(timeline, audit, events, ...) are lazy iterators over chunked queries; stream_json() turns it into JSON text
piece by piece, so a contact with 100,000 touchpoints is exported with bounded memory and a fixed number of
queries.

Erasure: erase_contact() runs every app's erase hook, in INSTALLED_APPS order, in one transaction. The contact
row is kept but anonymized, and every history row stays, so the counts reports are built on (touchpoints,
lifecycle changes, deals) do not change. What each hook keeps and why is written in docs/privacy.md.
"""

from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from smarketing.core.audit import record_audit
from smarketing.core.events import publish
from smarketing.crm import kinds as Kind
from smarketing.crm.models import Contact, DealContact
from smarketing.crm.serialize import record_dict
from smarketing.privacy.access import require_admin
from smarketing.privacy.hooks import ERASED, Erasure, Subject, hook_modules, mentions, person
from smarketing.privacy.models import ErasureRecord
from smarketing.timeline.models import Touchpoint

EXPORT_FORMAT = "smarketing-privacy-export/1"
REASON_MAX = 500
_MIN_IDENTIFIER = 3  # shorter strings ("Li", "Ng") would match inside too many unrelated words


# ---------------------------------------------------------------------------------------------------------
# Export


def export_contact(contact: Contact, *, actor) -> dict:
    """Everything held about `contact`, as a JSON-ready dict; list sections are lazy, chunked iterators.

    Feed the result to stream_json(). The export is recorded in the audit log when this is called.
    """
    require_admin(actor)
    contact = Contact.objects.select_related("company").get(pk=contact.pk)
    record_audit(actor=actor, action="privacy_export", obj=contact)
    erasure = ErasureRecord.objects.filter(contact_id=contact.pk).select_related("actor").first()
    data = {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now(),
        "erased": _erasure_dict(erasure) if erasure else None,
    }
    subject = Subject(contact=contact, object_ids=object_ids(contact))
    for module in hook_modules():
        if hasattr(module, "export"):
            data.update(module.export(subject))
    return data


def _erasure_dict(erasure: ErasureRecord) -> dict:
    return {
        "erased_at": erasure.erased_at,
        "by": person(erasure.actor.full_name, erasure.actor.email) if erasure.actor else None,
        "reason": erasure.reason,
    }


_encoder = DjangoJSONEncoder(ensure_ascii=False)


def _fragments(data: dict) -> Iterator[str]:
    """JSON text for the export, in pieces: a section that is an iterator becomes an array written one item
    at a time (each item is small and encoded in one call); every other value is encoded whole."""
    yield "{"
    for i, (key, value) in enumerate(data.items()):
        yield ("," if i else "") + _encoder.encode(str(key)) + ":"
        if isinstance(value, Iterator):
            yield "["
            for j, item in enumerate(value):
                yield ("," if j else "") + _encoder.encode(item)
            yield "]"
        else:
            yield _encoder.encode(value)
    yield "}"


def stream_json(data: dict, buffer_size: int = 64 * 1024) -> Iterator[str]:
    """The export as JSON text in pieces of about `buffer_size` characters (for StreamingHttpResponse)."""
    parts: list[str] = []
    size = 0
    for fragment in _fragments(data):
        parts.append(fragment)
        size += len(fragment)
        if size >= buffer_size:
            yield "".join(parts)
            parts, size = [], 0
    if parts:
        yield "".join(parts)


# ---------------------------------------------------------------------------------------------------------
# Erasure


def _identifiers(contact: Contact) -> list[str]:
    values = [
        contact.email,
        contact.full_name,
        contact.first_name,
        contact.last_name,
        contact.phone,
        contact.external_id or "",
    ]
    found = []
    for value in values:
        value = (value or "").strip().lower()
        if len(value) >= _MIN_IDENTIFIER and value != ERASED and value not in found:
            found.append(value)
    return found


def object_ids(contact: Contact) -> list[str]:
    """The contact's id plus every duplicate id merged into it (read from its "Records merged" touches)."""
    ids = [str(contact.pk)]
    merges = Touchpoint.objects.filter(contact_id=contact.pk, kind=Kind.MERGED).values_list("details", flat=True)
    for details in merges:
        merged = details.get("merged_id") if isinstance(details, dict) else None
        if isinstance(merged, int) and str(merged) not in ids:
            ids.append(str(merged))
    return ids


def run_erase_hooks(erasure: Erasure) -> dict[str, int]:
    """Every app's erase hook, in INSTALLED_APPS order; rows changed per part (kept on the ErasureRecord)."""
    summary: dict[str, int] = {}
    for module in hook_modules():
        if hasattr(module, "erase"):
            summary.update(module.erase(erasure))
    return summary


def clean_reason(reason: str, contact: Contact) -> str:
    """The reason is kept after the person is gone, so it may not name them."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why this person is erased (e.g. “GDPR request received 3 May”)."})
    if "\x00" in reason:
        raise ValidationError({"reason": "Contains a NUL character."})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"At most {REASON_MAX} characters."})
    # Not the first name alone: "Will", "May" or "Grace" would refuse ordinary sentences.
    if mentions(reason, [i for i in _identifiers(contact) if i != contact.first_name.strip().lower()]):
        raise ValidationError(
            {
                "reason": "Leave the person's name, email, phone and ids out of the reason: "
                "it is kept after their data is erased."
            }
        )
    return reason


def erasure_of(contact_or_id) -> ErasureRecord | None:
    pk = getattr(contact_or_id, "pk", contact_or_id)
    return ErasureRecord.objects.filter(contact_id=pk).select_related("actor").first()


def erase_contact(contact: Contact, *, actor, reason: str) -> tuple[ErasureRecord, bool]:
    """Remove or anonymize the person's data everywhere; returns (record, True), or (record, False) if the
    contact was already erased (nothing is done then).

    Written with plain UPDATEs rather than crm.services.update_record on purpose: that path would copy
    the old values into the audit log and the outbox, which is exactly what must not survive.
    """
    require_admin(actor)
    with transaction.atomic():
        # The row lock serializes two erasures of the same contact (and any concurrent edit of it): the
        # second one sees the first's ErasureRecord below and does nothing.
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        existing = erasure_of(locked.pk)
        if existing is not None:
            return existing, False
        reason = clean_reason(reason, locked)
        erasure = Erasure(
            contact=locked,
            at=timezone.now(),
            actor=actor,
            identifiers=_identifiers(locked),
            object_ids=object_ids(locked),
            deal_ids=list(DealContact.objects.filter(contact_id=locked.pk).values_list("deal_id", flat=True)),
        )
        summary = run_erase_hooks(erasure)
        record = ErasureRecord.objects.create(
            contact_id=locked.pk, erased_at=erasure.at, actor=actor, reason=reason, summary=summary
        )
        anonymous = Contact.objects.get(pk=locked.pk)
        record_audit(
            actor=actor,
            action="privacy_erase",
            obj=anonymous,
            object_repr=ERASED,
            changes={"erasure_record": (None, record.pk)},
        )
        # Subscribers (webhooks) learn that the person is gone and receive only the anonymized record, so
        # a downstream system that syncs contacts overwrites its copy.
        publish("contact.erased", anonymous, {**record_dict(anonymous), "erased": True})
    contact.refresh_from_db()
    return record, True
