"""Merging duplicate contacts or companies."""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from smarketing.core.audit import record_audit
from smarketing.core.events import publish
from smarketing.core.models import Origin
from smarketing.crm import access, payloads
from smarketing.crm import kinds as Kind
from smarketing.crm.models import (
    LIFECYCLE_ORDER,
    Company,
    Contact,
    Deal,
    DealContact,
    LifecycleChange,
    Note,
    Task,
)
from smarketing.crm.services.common import (
    COMPANY_FIELDS,
    CONTACT_FIELDS,
)
from smarketing.crm.services.records import set_search_keys
from smarketing.timeline.models import Team
from smarketing.timeline.services import record_touch

# What other apps keep about a contact, moved by them when it is merged: fn(primary_id, duplicate_id), run in
# the merge's transaction before the duplicate is deleted (its rows would otherwise cascade or lose the link).
_CONTACT_MERGE_HOOKS: list[Callable[[int, int], None]] = []


def on_contact_merge(hook: Callable[[int, int], None]) -> Callable[[int, int], None]:
    """Register an app's contact-merge hook (from its AppConfig.ready); usable as a decorator."""
    if hook not in _CONTACT_MERGE_HOOKS:
        _CONTACT_MERGE_HOOKS.append(hook)
    return hook


MERGE_FILL_FIELDS = {
    Contact: [f for f in CONTACT_FIELDS if f not in ("email", "lifecycle_stage", "external_id")],
    Company: [f for f in COMPANY_FIELDS if f not in ("domain", "external_id")],
}


@transaction.atomic
def merge_records(primary, duplicate, *, actor, origin: str = Origin.UI):
    """Fold `duplicate` into `primary`: every touch, history row and association moves; empty fields fill in.

    Works for contacts and companies. The duplicate is deleted afterwards; the audit log keeps its values.
    """
    model = type(primary)
    if model is not type(duplicate) or model not in MERGE_FILL_FIELDS:
        raise ValidationError("Only two contacts or two companies can be merged.")
    if primary.pk == duplicate.pk:
        raise ValidationError("Pick two different records to merge.")
    access.require(actor, "merge", primary)
    # Lock both rows in primary-key order so two merges of the same pair cannot deadlock.
    locked = {
        o.pk: o for o in model.objects.select_for_update().filter(pk__in=[primary.pk, duplicate.pk]).order_by("pk")
    }
    primary, duplicate = locked[primary.pk], locked[duplicate.pk]
    from smarketing.timeline.models import Touchpoint

    filled = {}
    for name in MERGE_FILL_FIELDS[model]:
        field = model._meta.get_field(name)
        if getattr(primary, field.attname) in (None, "") and getattr(duplicate, field.attname) not in (None, ""):
            filled[name] = (None, getattr(duplicate, field.attname))
            setattr(primary, field.attname, getattr(duplicate, field.attname))
    primary.custom = {**duplicate.custom, **primary.custom}
    if model is Contact:
        Touchpoint.objects.filter(contact=duplicate).update(contact=primary)
        LifecycleChange.objects.filter(contact=duplicate).update(contact=primary)
        for role in DealContact.objects.filter(contact=duplicate):
            if DealContact.objects.filter(deal_id=role.deal_id, contact=primary).exists():
                role.delete()
            else:
                DealContact.objects.filter(pk=role.pk).update(contact=primary)
        Task.objects.filter(contact=duplicate).update(contact=primary)
        Note.objects.filter(contact=duplicate).update(contact=primary)
        if duplicate.first_touch_at and (
            not primary.first_touch_at or duplicate.first_touch_at < primary.first_touch_at
        ):
            for name in (
                "first_source",
                "first_utm_source",
                "first_utm_medium",
                "first_utm_campaign",
                "first_touch_at",
            ):
                setattr(primary, name, getattr(duplicate, name))
        # The furthest funnel stage wins: merging never silently demotes a customer.
        if duplicate.lifecycle_stage in LIFECYCLE_ORDER and (
            primary.lifecycle_stage not in LIFECYCLE_ORDER
            or LIFECYCLE_ORDER.index(duplicate.lifecycle_stage) > LIFECYCLE_ORDER.index(primary.lifecycle_stage)
        ):
            filled["lifecycle_stage"] = (primary.lifecycle_stage, duplicate.lifecycle_stage)
            primary.lifecycle_stage = duplicate.lifecycle_stage
        kwargs = {"contact": primary}
    else:
        Contact.objects.filter(company=duplicate).update(company=primary)
        Deal.objects.filter(company=duplicate).update(company=primary)
        Touchpoint.objects.filter(company=duplicate).update(company=primary)
        Task.objects.filter(company=duplicate).update(company=primary)
        Note.objects.filter(company=duplicate).update(company=primary)
        kwargs = {"company": primary}
    snapshot = {"merged_id": duplicate.pk, "merged": str(duplicate)}
    if model is Contact:
        snapshot["email"] = duplicate.email
    else:
        snapshot["domain"] = duplicate.domain
    if model is Contact:
        for hook in _CONTACT_MERGE_HOOKS:
            hook(primary.pk, duplicate.pk)
    duplicate.delete()
    set_search_keys(primary)
    primary.version += 1
    primary.updated_at = timezone.now()
    primary.save()
    record_touch(
        kind=Kind.MERGED,
        team=Team.SYSTEM,
        actor=actor,
        summary=f"Merged {snapshot['merged']} into this record",
        details=snapshot,
        **kwargs,
    )
    record_audit(
        actor=actor, action="merge", obj=primary, origin=origin, changes={**filled, "merged": (snapshot, None)}
    )
    if model is Contact:
        publish("contact.merged", primary, payloads.merged(payloads.record(primary), snapshot["merged_id"]))
    return primary
