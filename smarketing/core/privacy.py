"""Core's privacy hooks: audit entries and outbox events about the contact and its merged duplicates
(see privacy.hooks). What is kept and why is written in docs/privacy.md."""

import json
from collections.abc import Iterator
from typing import Any

from smarketing.core.models import AuditEntry, Event
from smarketing.privacy.hooks import (
    BATCH,
    CHUNK,
    CONTACT_TYPE,
    ERASED,
    Erasure,
    Subject,
    person,
    safe_value,
    update_grouped,
)

# After every other app: in the export, the audit log and the events are the history about what came before.
ORDER = 90
# Audit `changes` keys whose values are codes or ids, kept so the history of the funnel stays readable.
SAFE_AUDIT_KEYS = frozenset({"lifecycle_stage", "lead_status", "owner", "company", "consent_status"})


def export(subject: Subject) -> dict[str, Any]:
    return {"audit": _audit(subject.object_ids), "events": _events(subject.object_ids)}


def _audit(ids: list[str]) -> Iterator[dict]:
    rows = (
        AuditEntry.objects.filter(object_type=CONTACT_TYPE, object_id__in=ids)
        .order_by("at", "id")
        .values("id", "at", "action", "origin", "object_repr", "changes", "actor__full_name", "actor__email")
    )
    for row in rows.iterator(chunk_size=CHUNK):
        by = person(row.pop("actor__full_name"), row.pop("actor__email"))
        yield {**row, "by": by}


def _events(ids: list[str]) -> Iterator[dict]:
    rows = (
        Event.objects.filter(object_type=CONTACT_TYPE, object_id__in=ids)
        .order_by("id")
        .values("id", "name", "occurred_at", "payload")
    )
    yield from rows.iterator(chunk_size=CHUNK)


def erase(erasure: Erasure) -> dict[str, int]:
    return {"scrub_audit": scrub_audit(erasure), "scrub_events": scrub_events(erasure)}


def _scrub_change(key: str, value, identifiers: list[str]):
    if value is None or value == "":
        return value
    if key in SAFE_AUDIT_KEYS and safe_value(value, identifiers):
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
            changed += update_grouped(AuditEntry, groups, ("object_repr", "changes"))
            pending = 0
    changed += update_grouped(AuditEntry, groups, ("object_repr", "changes"))
    return changed


def scrub_events(erasure: Erasure) -> int:
    """Outbox events about the contact keep their name and time; the payload shrinks to the id."""
    changed = 0
    for object_id in erasure.object_ids:
        changed += Event.objects.filter(object_type=CONTACT_TYPE, object_id=object_id).update(
            payload={"id": int(object_id), "erased": True}
        )
    return changed
