"""Segments' privacy hooks (privacy/hooks.py): the static lists a person is on.

Segments hold conditions, not people (membership is computed), so only list memberships are personal data
here. Erasure takes the person off every list: an erased contact must not stay in a marketing audience.
"""

from smarketing.privacy.hooks import Erasure, Subject
from smarketing.segments.models import ListMembership


def export(subject: Subject) -> dict:
    rows = ListMembership.objects.filter(contact=subject.contact).select_related("contact_list").order_by("added_at")
    return {
        "static_lists": [
            {"list": m.contact_list.name, "added_at": m.added_at.isoformat(), "origin": m.origin} for m in rows
        ]
    }


def erase(erasure: Erasure) -> dict[str, int]:
    removed, _ = ListMembership.objects.filter(contact=erasure.contact).delete()
    return {"remove_list_memberships": removed}
