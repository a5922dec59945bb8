"""The notifications' privacy hook (see privacy.hooks): what colleagues were told about the person.

A notification about a contact (`object_type` "crm.contact") quotes them in its title and body; one about a
deal they are on may quote them too. Export lists the first kind; erasure blanks their text and rewrites
the quotes in the second, keeping who was notified of what kind and when (the history of the work).
"""

import re
from collections.abc import Iterator
from typing import Any

from smarketing.notifications import catalogue
from smarketing.notifications.models import Notification
from smarketing.privacy.hooks import CHUNK, CONTACT_TYPE, ERASED, Erasure, Subject, mentions, person

DEAL_TYPE = "crm.deal"


def export(subject: Subject) -> dict[str, Any]:
    return {"notifications": _about(subject.object_ids)}


def _about(ids: list[str]) -> Iterator[dict]:
    rows = (
        Notification.objects.filter(object_type=CONTACT_TYPE, object_id__in=ids)
        .order_by("id")
        .values("id", "kind", "title", "body", "created_at", "user__full_name", "user__email")
    )
    for row in rows.iterator(chunk_size=CHUNK):
        told = person(row.pop("user__full_name"), row.pop("user__email"))
        yield {**row, "kind": catalogue.label(row["kind"]), "to": told}


def erase(erasure: Erasure) -> dict[str, int]:
    about = Notification.objects.filter(object_type=CONTACT_TYPE, object_id__in=erasure.object_ids).update(
        title=ERASED, body="", url=""
    )
    quoted = 0
    if erasure.deal_ids and erasure.identifiers:
        words = sorted(erasure.identifiers, key=len, reverse=True)
        pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
        rows = Notification.objects.filter(
            object_type=DEAL_TYPE, object_id__in=[str(pk) for pk in erasure.deal_ids]
        ).values_list("id", "title", "body")
        for pk, title, body in rows.iterator(chunk_size=CHUNK):
            if mentions(title, erasure.identifiers) or mentions(body, erasure.identifiers):
                quoted += Notification.objects.filter(pk=pk).update(
                    title=pattern.sub(ERASED, title)[:200], body=pattern.sub(ERASED, body)
                )
    return {"scrub_notifications": about + quoted}
