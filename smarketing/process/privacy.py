"""The handoff's privacy hook (see privacy.hooks): how sales answered each time the person was handed over.

Export lists the person's handoffs (when, to whom, the clock's facts, the decision and its reason). Erasure
keeps the facts the SLA and the reports count (times, owner, status, the reason chosen from the list) and
blanks what may quote the person: the rep's free text and the routing note (which can name their company).
"""

from collections.abc import Iterator
from typing import Any

from smarketing.privacy.hooks import CHUNK, ERASED, Erasure, Subject, person
from smarketing.process.models import Handoff


def export(subject: Subject) -> dict[str, Any]:
    return {"handoffs": _handoffs(subject.contact.pk)}


def _handoffs(contact_id: int) -> Iterator[dict]:
    rows = (
        Handoff.objects.filter(contact_id=contact_id)
        .order_by("id")
        .values(
            "id",
            "status",
            "started_at",
            "due_at",
            "first_touch_at",
            "breached_at",
            "decided_at",
            "reason__label",
            "reason_text",
            "source",
            "form_name",
            "routed_how",
            "owner__full_name",
            "owner__email",
        )
    )
    for row in rows.iterator(chunk_size=CHUNK):
        owner = person(row.pop("owner__full_name"), row.pop("owner__email"))
        yield {**row, "reason": row.pop("reason__label"), "owner": owner}


def erase(erasure: Erasure) -> dict[str, int]:
    rows = Handoff.objects.filter(contact_id=erasure.contact.pk)
    scrubbed = rows.exclude(reason_text="").update(reason_text=ERASED)
    rows.exclude(routed_how="").update(routed_how="")
    return {"scrub_handoffs": scrubbed}
