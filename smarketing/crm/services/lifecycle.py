"""Lifecycle stage moves, with full history."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from smarketing.core.audit import record_audit
from smarketing.core.events import publish
from smarketing.core.models import Origin
from smarketing.crm import access
from smarketing.crm import kinds as Kind
from smarketing.crm.models import (
    LIFECYCLE_ORDER,
    Contact,
    LifecycleChange,
    LifecycleStage,
)
from smarketing.crm.services.common import (
    _user,
)
from smarketing.timeline.models import Team
from smarketing.timeline.services import record_touch


def _stage_or_lead(contact: Contact) -> str:
    return contact.lifecycle_stage if contact.lifecycle_stage in LIFECYCLE_ORDER else LifecycleStage.LEAD


@transaction.atomic
def change_lifecycle_stage(
    contact: Contact,
    to_stage: str,
    *,
    actor,
    reason: str = "",
    origin: str = Origin.UI,
    allow_backward: bool = False,
    at: datetime | None = None,
) -> LifecycleChange | None:
    """Move a contact to `to_stage`, recording from, to, when, who and why.

    Stages only move forward through the funnel; a move back ("recycle") needs allow_backward and a reason.
    "Other" may be entered or left freely.
    """
    access.require(actor, "edit", contact)
    if to_stage not in LifecycleStage.values:
        raise ValidationError({"lifecycle_stage": f"{to_stage!r} is not a lifecycle stage."})
    current = Contact.objects.select_for_update().get(pk=contact.pk)
    from_stage = current.lifecycle_stage
    if from_stage == to_stage:
        return None
    backward = (
        from_stage in LIFECYCLE_ORDER
        and to_stage in LIFECYCLE_ORDER
        and LIFECYCLE_ORDER.index(to_stage) < LIFECYCLE_ORDER.index(from_stage)
    )
    reason = (reason or "").strip()
    if backward and not (allow_backward and reason):
        raise ValidationError(
            {"lifecycle_stage": "Moving a contact back to an earlier stage (recycling) needs a reason."}
        )
    when = at or timezone.now()
    Contact.objects.filter(pk=current.pk).update(
        lifecycle_stage=to_stage, lifecycle_changed_at=when, version=F("version") + 1, updated_at=when
    )
    contact.lifecycle_stage = to_stage
    contact.lifecycle_changed_at = when
    change = LifecycleChange.objects.create(
        contact=current,
        from_stage=from_stage,
        to_stage=to_stage,
        changed_at=when,
        actor=_user(actor),
        origin=origin,
        reason=reason[:300],
    )
    labels = dict(LifecycleStage.choices)
    verb = "recycled" if backward else "moved"
    record_touch(
        kind=Kind.LIFECYCLE_CHANGED,
        team=Team.SYSTEM,
        contact=current,
        actor=actor,
        occurred_at=when,
        summary=f"Lifecycle {verb}: {labels.get(from_stage, from_stage)} → {labels[to_stage]}",
        details={"from": from_stage, "to": to_stage, "reason": reason, "origin": origin},
    )
    publish(
        "contact.lifecycle_changed",
        current,
        {"id": current.pk, "email": current.email, "from": from_stage, "to": to_stage, "reason": reason},
    )
    record_audit(
        actor=actor,
        action="lifecycle",
        obj=current,
        origin=origin,
        changes={"lifecycle_stage": (from_stage, to_stage)},
    )
    return change
