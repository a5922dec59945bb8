"""Privacy requests: export everything held about a contact (right of access) and erase a contact (right to erasure).

Both are admin-only and both are recorded in the audit log ("privacy_export", "privacy_erase").

Export: export_contact() returns a dict whose large sections (timeline, audit, events, ...) are lazy iterators
over chunked queries; stream_json() turns it into JSON text piece by piece, so a contact with 100,000
touchpoints is exported with bounded memory and a fixed number of queries.

Erasure: erase_contact() runs every function in SCRUBBERS, in order, in one transaction. The contact row is
kept but anonymized, and every history row stays, so the counts reports are built on (touchpoints, lifecycle
changes, deals) do not change. What each scrubber keeps and why is written in docs/privacy.md.

Adding a scrubber (another app that stores copies of contact data, e.g. webhook delivery bodies): write a
plain function `def scrub_<thing>(erasure: Erasure) -> int` in that app which rewrites its rows about
`erasure.contact` (original values are on that object; `erasure.identifiers` lists the strings that identify
the person) and returns how many rows it changed, then append it to SCRUBBERS below. It runs inside the
erasure transaction: raise to abort the whole erasure.
"""

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.html import strip_tags

from smarketing.core.audit import record_audit
from smarketing.core.events import publish
from smarketing.core.models import AuditEntry, Event
from smarketing.crm import access
from smarketing.crm import kinds as Kind
from smarketing.crm.models import (
    ConsentStatus,
    Contact,
    DealContact,
    LifecycleChange,
    Note,
    ObjectType,
    PropertyDefinition,
    Task,
)
from smarketing.crm.serialize import record_dict
from smarketing.privacy.models import ErasureRecord
from smarketing.privacy.queries import CONTACT_TYPE
from smarketing.timeline.kinds import kind_labels
from smarketing.timeline.models import Touchpoint
from smarketing.webhooks.services import forget_object

ERASED = "[erased]"
EXPORT_FORMAT = "smarketing-privacy-export/1"
# Rows fetched per round trip while exporting or scrubbing; keeps memory flat whatever the history size.
CHUNK = 2000
# Rows changed per UPDATE ... WHERE id IN (...): below SQLite's bound-parameter limit, small enough for PG.
BATCH = 500
REASON_MAX = 500


def erased_email(contact_id: int) -> str:
    """The address an erased contact keeps: unique (the column is), undeliverable (.invalid is reserved)."""
    return f"erased-{contact_id}@erased.invalid"


def require_admin(actor) -> None:
    if not access.is_admin(actor):
        raise PermissionDenied("Only admins can handle privacy requests.")


# ---------------------------------------------------------------------------------------------------------
# Export


def _person(full_name: str | None, email: str | None) -> str | None:
    """How a colleague who touched the record appears in the export."""
    return full_name or email or None


def export_contact(contact: Contact, *, actor) -> dict:
    """Everything held about `contact`, as a JSON-ready dict; list sections are lazy, chunked iterators.

    Feed the result to stream_json(). The export is recorded in the audit log when this is called.
    """
    require_admin(actor)
    contact = Contact.objects.select_related("company").get(pk=contact.pk)
    record_audit(actor=actor, action="privacy_export", obj=contact)
    erasure = ErasureRecord.objects.filter(contact_id=contact.pk).select_related("actor").first()
    ids = object_ids(contact)
    company = contact.company
    return {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now(),
        "erased": _erasure_dict(erasure) if erasure else None,
        "contact": record_dict(contact),
        "custom_properties": _custom_properties(contact),
        "company": {"id": company.pk, "name": company.name, "domain": company.domain} if company else None,
        "consent": {
            "status": contact.consent_status,
            "at": contact.consent_at,
            "legal_basis": contact.consent_basis,
            "source": contact.consent_source,
        },
        "lifecycle_history": _lifecycle(contact),
        "deals": _deals(contact),
        "tasks": _tasks(contact),
        "notes": _notes(contact),
        "timeline": _timeline(contact),
        "audit": _audit(ids),
        "events": _events(ids),
    }


def _erasure_dict(erasure: ErasureRecord) -> dict:
    return {
        "erased_at": erasure.erased_at,
        "by": _person(erasure.actor.full_name, erasure.actor.email) if erasure.actor else None,
        "reason": erasure.reason,
    }


def _custom_properties(contact: Contact) -> list[dict]:
    """Custom values with their labels; keys without a definition (deleted since) are exported too."""
    if not contact.custom:
        return []
    labels = dict(
        PropertyDefinition.objects.filter(object_type=ObjectType.CONTACT, key__in=list(contact.custom)).values_list(
            "key", "label"
        )
    )
    return [{"key": key, "label": labels.get(key, key), "value": value} for key, value in contact.custom.items()]


def _lifecycle(contact: Contact) -> Iterator[dict]:
    rows = (
        LifecycleChange.objects.filter(contact=contact)
        .order_by("changed_at", "id")
        .values("from_stage", "to_stage", "changed_at", "origin", "reason", "actor__full_name", "actor__email")
    )
    for row in rows.iterator(chunk_size=CHUNK):
        yield {
            "from_stage": row["from_stage"],
            "to_stage": row["to_stage"],
            "changed_at": row["changed_at"],
            "origin": row["origin"],
            "reason": row["reason"],
            "by": _person(row["actor__full_name"], row["actor__email"]),
        }


def _deals(contact: Contact) -> Iterator[dict]:
    rows = (
        DealContact.objects.filter(contact=contact)
        .order_by("deal_id")
        .values(
            "role",
            "deal_id",
            "deal__name",
            "deal__pipeline__name",
            "deal__stage__name",
            "deal__status",
            "deal__amount",
            "deal__currency",
            "deal__close_date",
            "deal__created_at",
            "deal__closed_at",
        )
    )
    roles = dict(DealContact.Role.choices)
    for row in rows.iterator(chunk_size=CHUNK):
        yield {
            "id": row["deal_id"],
            "name": row["deal__name"],
            "role": row["role"],
            "role_label": roles.get(row["role"], row["role"]),
            "pipeline": row["deal__pipeline__name"],
            "stage": row["deal__stage__name"],
            "status": row["deal__status"],
            "amount": row["deal__amount"],
            "currency": row["deal__currency"],
            "close_date": row["deal__close_date"],
            "created_at": row["deal__created_at"],
            "closed_at": row["deal__closed_at"],
        }


def _tasks(contact: Contact) -> Iterator[dict]:
    rows = (
        Task.objects.filter(contact=contact)
        .order_by("id")
        .values(
            "id",
            "kind",
            "title",
            "description",
            "due_at",
            "created_at",
            "completed_at",
            "owner__full_name",
            "owner__email",
        )
    )
    for row in rows.iterator(chunk_size=CHUNK):
        owner = _person(row.pop("owner__full_name"), row.pop("owner__email"))
        yield {**row, "owner": owner}


def _notes(contact: Contact) -> Iterator[dict]:
    rows = (
        Note.objects.filter(contact=contact)
        .order_by("created_at", "id")
        .values("id", "body", "created_at", "author__full_name", "author__email")
    )
    for row in rows.iterator(chunk_size=CHUNK):
        yield {
            "id": row["id"],
            "created_at": row["created_at"],
            "author": _person(row["author__full_name"], row["author__email"]),
            "body_html": row["body"],
            "body_text": strip_tags(row["body"]),
        }


def _timeline(contact: Contact) -> Iterator[dict]:
    rows = (
        Touchpoint.objects.filter(contact=contact)
        .order_by("occurred_at", "id")
        .values(
            "id",
            "occurred_at",
            "kind",
            "team",
            "summary",
            "details",
            "source",
            "deal_id",
            "company_id",
            "campaign_id",
            "campaign__name",
            "actor__full_name",
            "actor__email",
        )
    )
    labels = kind_labels()
    for row in rows.iterator(chunk_size=CHUNK):
        yield {
            "id": row["id"],
            "occurred_at": row["occurred_at"],
            "kind": row["kind"],
            "kind_label": labels.get(row["kind"], row["kind"]),
            "team": row["team"],
            "summary": row["summary"],
            "details": row["details"],
            "source": row["source"],
            "deal_id": row["deal_id"],
            "company_id": row["company_id"],
            "campaign": {"id": row["campaign_id"], "name": row["campaign__name"]} if row["campaign_id"] else None,
            "by": _person(row["actor__full_name"], row["actor__email"]),
        }


def _audit(ids: list[str]) -> Iterator[dict]:
    rows = (
        AuditEntry.objects.filter(object_type=CONTACT_TYPE, object_id__in=ids)
        .order_by("at", "id")
        .values("id", "at", "action", "origin", "object_repr", "changes", "actor__full_name", "actor__email")
    )
    for row in rows.iterator(chunk_size=CHUNK):
        by = _person(row.pop("actor__full_name"), row.pop("actor__email"))
        yield {**row, "by": by}


def _events(ids: list[str]) -> Iterator[dict]:
    rows = (
        Event.objects.filter(object_type=CONTACT_TYPE, object_id__in=ids)
        .order_by("id")
        .values("id", "name", "occurred_at", "payload", "dispatched_at")
    )
    yield from rows.iterator(chunk_size=CHUNK)


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


@dataclass
class Erasure:
    """What each scrubber receives."""

    contact: Contact  # locked, and still holding the original (personal) values: read them, never save them
    at: datetime
    actor: object
    identifiers: list[str]  # strings that identify the person (email, names, phone, ...), lowercased
    # The contact's id and the ids of duplicates merged into it, as strings: audit entries and events
    # written about a merged-away duplicate still carry the person's data under the old id.
    object_ids: list[str]


Scrubber = Callable[[Erasure], int]

# Detail keys of a touchpoint that describe the touch, not the person: ids, stage codes, amounts, origins.
# A value is kept only if it is also "token-like" (see _safe_value); anything else (bodies, outcomes, URLs,
# reasons, form answers, merged snapshots) is dropped.
SAFE_DETAIL_KEYS = frozenset(
    {
        "origin",
        "from",
        "to",
        "amount",
        "kind",
        "note_id",
        "task_id",
        "merged_id",
        "campaign_id",
        "form_id",
        "offer_id",
        "content_id",
        "booking_id",
        "score",
    }
)
# Audit `changes` keys whose values are codes or ids, kept so the history of the funnel stays readable.
SAFE_AUDIT_KEYS = frozenset({"lifecycle_stage", "lead_status", "owner", "company", "consent_status"})
_TOKEN = re.compile(r"[A-Za-z0-9_.:+-]{0,64}\Z")
_MIN_IDENTIFIER = 3  # shorter strings ("Li", "Ng") would match inside too many unrelated words


def _mentions(text: str, identifiers: Iterable[str]) -> bool:
    """Does `text` contain one of the identifiers as a whole word (or, for emails, anywhere)?"""
    lowered = text.lower()
    for ident in identifiers:
        if "@" in ident:
            if ident in lowered:
                return True
        elif re.search(r"(?<!\w)" + re.escape(ident) + r"(?!\w)", lowered):
            return True
    return False


def _safe_value(value, identifiers: Iterable[str]) -> bool:
    """Numbers, booleans, null and short code-like strings (no spaces, no "@") that name nobody."""
    if value is None or isinstance(value, bool | int | float):
        return True
    return isinstance(value, str) and bool(_TOKEN.match(value)) and not _mentions(value, identifiers)


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


def anonymize_contact(erasure: Erasure) -> int:
    """The contact row: identity, custom properties and consent go; funnel and attribution facts stay."""
    contact = erasure.contact
    columns = {
        "email": erased_email(contact.pk),
        # The marker, not an empty name: every page, list and export that prints the contact shows "[erased]".
        "first_name": ERASED,
        "last_name": "",
        "name_key": ERASED,
        "last_key": ERASED,
        "title": "",
        "phone": "",
        "external_id": None,
        "custom": {},
        "consent_status": ConsentStatus.WITHDRAWN,
        "consent_at": erasure.at,
        "consent_basis": "",
        "consent_source": "erasure",
        "updated_at": erasure.at,
        "version": F("version") + 1,
    }
    # Sources and UTM values name our channels and campaigns, not the person, and first/last-touch
    # attribution needs them; one is cleared only if it looks personal (an address, a name, a phone).
    for name in (
        "first_source",
        "first_utm_source",
        "first_utm_medium",
        "first_utm_campaign",
        "last_source",
        "last_utm_source",
        "last_utm_medium",
        "last_utm_campaign",
    ):
        value = getattr(contact, name)
        if value and ("@" in value or _mentions(value, erasure.identifiers)):
            columns[name] = ""
    return Contact.objects.filter(pk=contact.pk).update(**columns)


def _flush(model, groups: dict, field_names: tuple[str, ...]) -> int:
    changed = 0
    for key, ids in groups.items():
        values = dict(zip(field_names, key, strict=True))
        for name in field_names:
            if name in ("details", "changes"):
                values[name] = json.loads(values[name])
        changed += model.objects.filter(pk__in=ids).update(**values)
    groups.clear()
    return changed


def scrub_timeline(erasure: Erasure) -> int:
    """Touchpoints stay (counts, attribution); each summary becomes its kind's label, details keep safe keys."""
    labels = kind_labels()
    identifiers = erasure.identifiers
    rows = Touchpoint.objects.filter(contact_id=erasure.contact.pk).values_list("id", "kind", "summary", "details")
    # Rows that end up identical (same label, same kept details) are updated together: a contact with
    # 100,000 touchpoints costs a few hundred UPDATEs, not 100,000.
    groups: dict[tuple, list[int]] = {}
    pending = changed = 0
    # Updating rows of the table being iterated is safe here (SQLite gives no isolation inside a connection):
    # only summary/details change, never a column the scan filters or orders on.
    for pk, kind, summary, details in rows.iterator(chunk_size=CHUNK):
        label = labels.get(kind, "Touch")
        if not isinstance(details, dict):
            details = {}
        kept = {k: v for k, v in details.items() if k in SAFE_DETAIL_KEYS and _safe_value(v, identifiers)}
        if summary == label and kept == details:
            continue
        ids = groups.setdefault((label, json.dumps(kept, sort_keys=True)), [])
        ids.append(pk)
        pending += 1
        if len(ids) >= BATCH or pending >= CHUNK:
            changed += _flush(Touchpoint, groups, ("summary", "details"))
            pending = 0
    changed += _flush(Touchpoint, groups, ("summary", "details"))
    # A source is a channel name or utm_source; one holding an address is cleared.
    Touchpoint.objects.filter(contact_id=erasure.contact.pk, source__contains="@").update(source="")
    return changed


def scrub_lifecycle(erasure: Erasure) -> int:
    """Lifecycle history stays (funnel KPIs); the free-text reasons go."""
    return LifecycleChange.objects.filter(contact_id=erasure.contact.pk).exclude(reason="").update(reason="")


def scrub_notes(erasure: Erasure) -> int:
    """Notes about the person are deleted; their "Note" touchpoints stay (with the summary scrubbed)."""
    deleted, _ = Note.objects.filter(contact_id=erasure.contact.pk).delete()
    return deleted


def scrub_tasks(erasure: Erasure) -> int:
    """Tasks stay (follow-up and SLA reports count them); titles and descriptions go."""
    return Task.objects.filter(contact_id=erasure.contact.pk).update(title=ERASED, description="")


def _replace_in(value, pattern: re.Pattern):
    """`value` (any JSON) with the pattern replaced by the marker in every string inside it."""
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, list):
        return [_replace_in(item, pattern) for item in value]
    if isinstance(value, dict):
        return {key: _replace_in(item, pattern) for key, item in value.items()}
    return value


def scrub_mentions(erasure: Erasure) -> int:
    """The person's email address written into other records: notes and tasks anywhere, and the timeline
    touches of their company and deals (a note on the company, a task on the deal).

    Only the address is searched for: it is unambiguous, while a name would also hit other people. Notes and
    tasks are scanned whole (LIKE '%...%'), acceptable for a rare admin action; touchpoints, the big table,
    only through the company and deal indexes.
    """
    contact = erasure.contact
    email = contact.email
    pattern = re.compile(re.escape(email), re.IGNORECASE)
    changed = 0
    for note in Note.objects.filter(body__icontains=email).only("id", "body").iterator(chunk_size=CHUNK):
        Note.objects.filter(pk=note.pk).update(body=pattern.sub(ERASED, note.body))
        changed += 1
    tasks = Task.objects.filter(Q(title__icontains=email) | Q(description__icontains=email))
    for task in tasks.only("id", "title", "description").iterator(chunk_size=CHUNK):
        Task.objects.filter(pk=task.pk).update(
            title=pattern.sub(ERASED, task.title), description=pattern.sub(ERASED, task.description)
        )
        changed += 1
    deal_ids = list(DealContact.objects.filter(contact_id=contact.pk).values_list("deal_id", flat=True))
    scope = Q(deal_id__in=deal_ids)
    if contact.company_id:
        scope |= Q(company_id=contact.company_id)
    touches = Touchpoint.objects.filter(scope).filter(Q(summary__icontains=email) | Q(details__icontains=email))
    for pk, summary, details in touches.values_list("id", "summary", "details").iterator(chunk_size=CHUNK):
        Touchpoint.objects.filter(pk=pk).update(
            summary=pattern.sub(ERASED, summary), details=_replace_in(details, pattern)
        )
        changed += 1
    return changed


def _scrub_change(key: str, value, identifiers: list[str]):
    if value is None or value == "":
        return value
    if key in SAFE_AUDIT_KEYS and _safe_value(value, identifiers):
        return value
    return ERASED


def scrub_audit(erasure: Erasure) -> int:
    """Audit entries about the contact stay (who did what when); the names shown and the values changed go."""
    identifiers = erasure.identifiers
    rows = AuditEntry.objects.filter(object_type=CONTACT_TYPE, object_id__in=erasure.object_ids).values_list(
        "id", "changes"
    )
    groups: dict[tuple, list[int]] = {}
    pending = changed = 0
    for pk, changes in rows.iterator(chunk_size=CHUNK):
        if not isinstance(changes, dict):
            changes = {}
        clean = {}
        for key, pair in changes.items():
            pair = pair if isinstance(pair, list) else [pair]
            clean[key] = [_scrub_change(key, value, identifiers) for value in pair]
        ids = groups.setdefault((ERASED, json.dumps(clean, sort_keys=True)), [])
        ids.append(pk)
        pending += 1
        if len(ids) >= BATCH or pending >= CHUNK:
            changed += _flush(AuditEntry, groups, ("object_repr", "changes"))
            pending = 0
    changed += _flush(AuditEntry, groups, ("object_repr", "changes"))
    return changed


def scrub_events(erasure: Erasure) -> int:
    """Outbox events about the contact keep their name and time; the payload shrinks to the id."""
    changed = 0
    for object_id in erasure.object_ids:
        changed += Event.objects.filter(object_type=CONTACT_TYPE, object_id=object_id).update(
            payload={"id": int(object_id), "erased": True}
        )
    return changed


def scrub_webhook_deliveries(erasure: Erasure) -> int:
    """Webhook delivery logs keep the request bodies that were sent, which hold the person's data."""
    return sum(forget_object(CONTACT_TYPE, object_id) for object_id in erasure.object_ids)


def scrub_import_rows(erasure: Erasure) -> int:
    """Rows an import rejected, and import previews, keep the cells as uploaded: blank any that name the person."""
    from smarketing.dataio.models import Import, RejectedRow

    # Only identifiers that single the person out (email, full name, phone, external id): these rows belong to
    # no record, so a bare first name would blank other people's rows.
    strong = [i for i in erasure.identifiers if "@" in i or " " in i or any(c.isdigit() for c in i)]
    if not strong:
        return 0

    def names_person(cells) -> bool:
        return _mentions(json.dumps(cells, ensure_ascii=False), strong)

    changed = 0
    # A Python scan: rejected rows are few next to the CRM tables, and JSON text search is not portable.
    for row in RejectedRow.objects.only("pk", "cells").iterator(chunk_size=2000):
        if names_person(row.cells):
            RejectedRow.objects.filter(pk=row.pk).update(cells=[ERASED for _ in row.cells])
            changed += 1
    for upload in Import.objects.only("pk", "sample").iterator(chunk_size=200):
        if names_person(upload.sample):
            sample = [[ERASED] * len(cells) if names_person(cells) else cells for cells in upload.sample]
            Import.objects.filter(pk=upload.pk).update(sample=sample)
            changed += 1
    return changed


# Run in this order by erase_contact(), all in one transaction. Each returns how many rows it changed; the
# counts are kept on the ErasureRecord. See the module docstring before adding one.
SCRUBBERS: list[Scrubber] = [
    anonymize_contact,
    scrub_timeline,
    scrub_lifecycle,
    scrub_notes,
    scrub_tasks,
    scrub_mentions,
    scrub_audit,
    scrub_events,
    scrub_webhook_deliveries,
    scrub_import_rows,
]


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
    if _mentions(reason, [i for i in _identifiers(contact) if i != contact.first_name.strip().lower()]):
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
        )
        summary = {scrubber.__name__: scrubber(erasure) for scrubber in SCRUBBERS}
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
