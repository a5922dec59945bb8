"""Reads other apps may use: is a contact erased, and what is held about a contact."""

from collections.abc import Iterable

from smarketing.core.models import AuditEntry, Event
from smarketing.crm.models import Contact, DealContact, LifecycleChange, Note, Task
from smarketing.privacy.hooks import CONTACT_TYPE
from smarketing.privacy.models import ErasureRecord
from smarketing.timeline.models import Touchpoint


def is_erased(contact_or_id) -> bool:
    """Was this contact erased? (One indexed lookup; record pages can show an "[erased]" banner.)"""
    pk = getattr(contact_or_id, "pk", contact_or_id)
    return ErasureRecord.objects.filter(contact_id=pk).exists()


def erased_ids(ids: Iterable[int]) -> set[int]:
    """Which of these contact ids were erased, in one query (for marking rows of a list page)."""
    return set(ErasureRecord.objects.filter(contact_id__in=list(ids)).values_list("contact_id", flat=True))


def held_counts(contact: Contact) -> list[tuple[str, int]]:
    """How many rows of each kind are held about the contact. Every count uses an index on the contact."""
    object_id = str(contact.pk)
    return [
        ("Timeline touchpoints", Touchpoint.objects.filter(contact=contact).count()),
        ("Lifecycle changes", LifecycleChange.objects.filter(contact=contact).count()),
        ("Deals", DealContact.objects.filter(contact=contact).count()),
        ("Tasks", Task.objects.filter(contact=contact).count()),
        ("Notes", Note.objects.filter(contact=contact).count()),
        ("Audit entries", AuditEntry.objects.filter(object_type=CONTACT_TYPE, object_id=object_id).count()),
        ("Outbox events", Event.objects.filter(object_type=CONTACT_TYPE, object_id=object_id).count()),
    ]
