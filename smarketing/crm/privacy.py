"""The CRM's privacy hooks: the contact record, its lifecycle, deals, tasks and notes (see privacy.hooks).

What each scrubber keeps and why is written in docs/privacy.md.
"""

import re
from collections.abc import Iterator
from typing import Any

from django.db.models import F, Q
from django.utils.html import strip_tags

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
from smarketing.privacy.hooks import CHUNK, ERASED, Erasure, Subject, erased_email, mentions, person

# ---------------------------------------------------------------------------------------------------------
# Export


def export(subject: Subject) -> dict[str, Any]:
    contact = subject.contact
    company = contact.company
    return {
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
            "by": person(row["actor__full_name"], row["actor__email"]),
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
        owner = person(row.pop("owner__full_name"), row.pop("owner__email"))
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
            "author": person(row["author__full_name"], row["author__email"]),
            "body_html": row["body"],
            "body_text": strip_tags(row["body"]),
        }


# ---------------------------------------------------------------------------------------------------------
# Erasure


def erase(erasure: Erasure) -> dict[str, int]:
    return {
        "anonymize_contact": anonymize_contact(erasure),
        "scrub_lifecycle": scrub_lifecycle(erasure),
        "scrub_notes": scrub_notes(erasure),
        "scrub_tasks": scrub_tasks(erasure),
        "scrub_mentions": scrub_mentions(erasure),
    }


# Contact columns that name our channels and campaigns, not the person; first/last-touch attribution needs
# them, so one is cleared only if it looks personal (an address, a name, a phone).
ATTRIBUTION_COLUMNS = (
    "first_source",
    "first_utm_source",
    "first_utm_medium",
    "first_utm_campaign",
    "last_source",
    "last_utm_source",
    "last_utm_medium",
    "last_utm_campaign",
)


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
    for name in ATTRIBUTION_COLUMNS:
        value = getattr(contact, name)
        if value and ("@" in value or mentions(value, erasure.identifiers)):
            columns[name] = ""
    return Contact.objects.filter(pk=contact.pk).update(**columns)


def scrub_lifecycle(erasure: Erasure) -> int:
    """Lifecycle history stays (funnel KPIs); the free-text reasons go."""
    return LifecycleChange.objects.filter(contact_id=erasure.contact.pk).exclude(reason="").update(reason="")


def scrub_notes(erasure: Erasure) -> int:
    """Notes about the person are deleted; their "Note" touchpoints stay (scrubbed by the timeline's hook)."""
    deleted, _ = Note.objects.filter(contact_id=erasure.contact.pk).delete()
    return deleted


def scrub_tasks(erasure: Erasure) -> int:
    """Tasks stay (follow-up and SLA reports count them); titles and descriptions go."""
    return Task.objects.filter(contact_id=erasure.contact.pk).update(title=ERASED, description="")


def scrub_mentions(erasure: Erasure) -> int:
    """The person's email address written into notes and tasks anywhere (a note on their company, a task
    on their deal).

    Only the address is searched for: it is unambiguous, while a name would also hit other people. Notes and
    tasks are scanned whole (LIKE '%...%'), acceptable for a rare admin action.
    """
    email = erasure.contact.email
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
    return changed
