"""Lifecycle stage moves, with full history."""

from collections.abc import Callable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.core.audit import record_audit
from smarketing.core.events import publish
from smarketing.core.models import Origin
from smarketing.crm import access, payloads, summaries
from smarketing.crm import kinds as Kind
from smarketing.crm.lifecycle_rules import is_stage, lifecycle_move, promotes
from smarketing.crm.models import (
    Contact,
    LifecycleChange,
)
from smarketing.crm.services.common import (
    _user,
)
from smarketing.timeline.models import Team
from smarketing.timeline.services import record_touch

# Exit checks a pillar adds to lifecycle stages (the process app: a stage's checklist), registered from its
# AppConfig.ready: check(contact, from_stage, to_stage) -> labels of what is unmet. They bind people's moves (the
# UI and the API) forward out of a stage; automation (scores, workflows, imports) and recycling move freely.
_LIFECYCLE_RULES: list[Callable[[Contact, str, str], list[str]]] = []
ENFORCED_ORIGINS = (Origin.UI, Origin.API)


def register_lifecycle_rule(check: Callable[[Contact, str, str], list[str]]) -> None:
    if check not in _LIFECYCLE_RULES:
        _LIFECYCLE_RULES.append(check)


def unmet_lifecycle_criteria(contact: Contact, from_stage: str, to_stage: str) -> list[str]:
    return [label for check in _LIFECYCLE_RULES for label in check(contact, from_stage, to_stage)]


def promote(contact: Contact, to_stage: str, *, actor, reason: str, at: datetime | None = None) -> None:
    """Move `contact` up to `to_stage` for the system (a deal made it an opportunity, a win a customer), unless
    it is there or beyond already."""
    if promotes(contact.lifecycle_stage, to_stage):
        change_lifecycle_stage(
            contact,
            to_stage,
            actor=system_actor(Origin.SYSTEM, on_behalf_of=actor),  # a follow-up, whoever owns the contact
            origin=Origin.SYSTEM,
            reason=reason,
            at=at,
        )


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
    if not is_stage(to_stage):
        raise ValidationError({"lifecycle_stage": f"{to_stage!r} is not a lifecycle stage."})
    current = Contact.objects.select_for_update().get(pk=contact.pk)
    from_stage = current.lifecycle_stage
    move = lifecycle_move(from_stage, to_stage)
    if move is None:
        return None
    reason = (reason or "").strip()
    refusal = move.refusal(reason=reason, allow_backward=allow_backward)
    if refusal:
        raise ValidationError({"lifecycle_stage": refusal})
    if origin in ENFORCED_ORIGINS and not move.backward and to_stage != "other":
        unmet = unmet_lifecycle_criteria(current, from_stage, to_stage)
        if unmet:
            from smarketing.crm.models import LifecycleStage

            name = LifecycleStage(from_stage).label if from_stage in LifecycleStage.values else from_stage
            raise ValidationError({"lifecycle_stage": f"Before leaving {name}, answer: {', '.join(unmet)}."})
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
    record_touch(
        kind=Kind.LIFECYCLE_CHANGED,
        team=Team.SYSTEM,
        contact=current,
        actor=actor,
        occurred_at=when,
        summary=summaries.lifecycle_changed(from_stage, to_stage, backward=move.backward),
        details={"from": from_stage, "to": to_stage, "reason": reason, "origin": origin},
    )
    publish(
        "contact.lifecycle_changed",
        current,
        payloads.lifecycle_changed(current.pk, current.email, from_stage, to_stage, reason),
    )
    record_audit(
        actor=actor,
        action="lifecycle",
        obj=current,
        origin=origin,
        changes={"lifecycle_stage": (from_stage, to_stage)},
    )
    return change
