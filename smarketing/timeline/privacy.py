"""The timeline's privacy hooks: the person's touchpoints, and quotes of them on their company's and deals'
timelines (see privacy.hooks). What is kept and why is written in docs/privacy.md."""

import json
import re
from collections.abc import Iterator
from typing import Any

from django.db.models import Q

from smarketing.privacy.hooks import (
    BATCH,
    CHUNK,
    ERASED,
    Erasure,
    Subject,
    person,
    replace_in,
    safe_value,
    update_grouped,
)
from smarketing.timeline.kinds import kind_labels
from smarketing.timeline.models import Touchpoint

# Detail keys of a touchpoint that describe the touch, not the person: ids, stage codes, amounts, origins.
# A value is kept only if it is also "token-like" (see hooks.safe_value); anything else (bodies, outcomes,
# URLs, reasons, form answers, merged snapshots) is dropped.
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


def export(subject: Subject) -> dict[str, Any]:
    return {"timeline": _timeline(subject.contact.pk)}


def _timeline(contact_id: int) -> Iterator[dict]:
    rows = (
        Touchpoint.objects.filter(contact_id=contact_id)
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
            "by": person(row["actor__full_name"], row["actor__email"]),
        }


def erase(erasure: Erasure) -> dict[str, int]:
    return {
        "scrub_timeline": scrub_timeline(erasure),
        "scrub_related_touches": scrub_related_touches(erasure),
    }


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
        kept = {k: v for k, v in details.items() if k in SAFE_DETAIL_KEYS and safe_value(v, identifiers)}
        if summary == label and kept == details:
            continue
        ids = groups.setdefault((label, json.dumps(kept, sort_keys=True)), [])
        ids.append(pk)
        pending += 1
        if len(ids) >= BATCH or pending >= CHUNK:
            changed += update_grouped(Touchpoint, groups, ("summary", "details"))
            pending = 0
    changed += update_grouped(Touchpoint, groups, ("summary", "details"))
    # A source is a channel name or utm_source; one holding an address is cleared.
    Touchpoint.objects.filter(contact_id=erasure.contact.pk, source__contains="@").update(source="")
    return changed


def scrub_related_touches(erasure: Erasure) -> int:
    """The person's email address quoted on the timelines of their company and deals (a note on the company,
    a task on the deal). Only through the company and deal indexes: this is the big table."""
    email = erasure.contact.email
    pattern = re.compile(re.escape(email), re.IGNORECASE)
    scope = Q(deal_id__in=erasure.deal_ids)
    if erasure.contact.company_id:
        scope |= Q(company_id=erasure.contact.company_id)
    touches = Touchpoint.objects.filter(scope).filter(Q(summary__icontains=email) | Q(details__icontains=email))
    changed = 0
    for pk, summary, details in touches.values_list("id", "summary", "details").iterator(chunk_size=CHUNK):
        Touchpoint.objects.filter(pk=pk).update(
            summary=pattern.sub(ERASED, summary), details=replace_in(details, pattern)
        )
        changed += 1
    return changed
