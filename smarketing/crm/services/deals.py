"""Deals: creation, stage moves with exit criteria, wins and losses, contacts on a deal."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from smarketing.core.audit import record_audit
from smarketing.core.events import publish
from smarketing.core.models import Origin
from smarketing.crm import access, payloads, summaries
from smarketing.crm import kinds as Kind
from smarketing.crm.models import (
    Contact,
    Deal,
    DealContact,
    DealStageChange,
    DealStatus,
    LifecycleStage,
    ObjectType,
    PropertyDefinition,
    Stage,
)
from smarketing.crm.properties import clean_custom
from smarketing.crm.services.common import (
    _user,
    team_of,
)
from smarketing.crm.services.lifecycle import promote
from smarketing.crm.services.records import _prepare, _unique_error
from smarketing.timeline.services import record_touch


@dataclass(frozen=True)
class StageRule:
    """Exit criteria and entry work a pillar adds to stages (the process app: checklists, required records,
    playbook tasks), registered from its AppConfig.ready so crm enforces them without importing it.

    `criteria(deal, stage)` returns (criterion, label, met) for each criterion the pillar sets on the stage;
    `fix(deal, criterion)` the link where an unmet one is met ({"url", "label"}) or None; `entered(deal, stage,
    actor)` runs in the transaction of a deal's arrival in a stage (creation included)."""

    criteria: Callable[[Deal, Stage], list[tuple[str, str, bool]]] | None = None
    fix: Callable[[Deal, str], dict | None] | None = None
    entered: Callable[[Deal, Stage, object], None] | None = None


_STAGE_RULES: list[StageRule] = []


def register_stage_rule(rule: StageRule) -> StageRule:
    if rule not in _STAGE_RULES:
        _STAGE_RULES.append(rule)
    return rule


def pillar_criteria(deal: Deal, stage: Stage) -> list[tuple[str, str, bool]]:
    """(criterion, label, met) of the registered pillars' criteria on `stage`."""
    found = []
    for rule in _STAGE_RULES:
        if rule.criteria is not None:
            found.extend(rule.criteria(deal, stage))
    return found


def pillar_fix(deal: Deal, criterion: str) -> dict | None:
    for rule in _STAGE_RULES:
        fix = rule.fix(deal, criterion) if rule.fix is not None else None
        if fix:
            return fix
    return None


def _entered(deal: Deal, stage: Stage, actor) -> None:
    for rule in _STAGE_RULES:
        if rule.entered is not None:
            rule.entered(deal, stage, actor)


class ExitCriteriaError(ValidationError):
    """A deal may not leave its stage before these fields are filled; `criteria` holds (criterion, label) of
    each (criterion as stored in Stage.exit_criteria: "amount", "contacts", "custom.key"), so the UI can link
    to where each is filled in."""

    criteria: list[tuple[str, str]] = []


@transaction.atomic
def create_deal(
    *, actor, data: dict, stage: Stage, contacts: list[tuple[Contact, str]] = (), origin: str = Origin.UI
) -> Deal:
    if not str(data.get("name") or "").strip():
        raise ValidationError({"name": "This field is required."})
    deal = Deal(pipeline_id=stage.pipeline_id, stage=stage)
    clean = _prepare(Deal, data)
    custom = clean.pop("custom", None) or {}
    for name, value in clean.items():
        setattr(deal, name, value)
    deal.custom = clean_custom(ObjectType.DEAL, custom) if custom else {}
    access.require_write(actor)
    if stage.outcome != Stage.Outcome.OPEN:
        deal.status = stage.outcome
        deal.closed_at = deal.created_at
    try:
        with transaction.atomic():
            deal.save(force_insert=True)
    except IntegrityError as exc:
        raise _unique_error(Deal, exc)
    DealStageChange.objects.create(deal=deal, from_stage=None, to_stage=stage, actor=_user(actor), origin=origin)
    for contact, role in contacts:
        DealContact.objects.get_or_create(deal=deal, contact=contact, defaults={"role": role or "other"})
    primary = contacts[0][0] if contacts else None
    record_touch(
        kind=Kind.DEAL_CREATED,
        team=team_of(actor),
        deal=deal,
        contact=primary,
        company=deal.company,
        actor=actor,
        summary=summaries.deal_created(deal.name, deal.amount, deal.currency),
    )
    if primary is not None:
        promote(primary, LifecycleStage.OPPORTUNITY, actor=actor, reason="Deal created")
    _entered(deal, stage, actor)
    record_audit(actor=actor, action="create", obj=deal, origin=origin)
    publish("deal.created", deal, payloads.record(deal))
    return deal


def missing_exit_criteria(deal: Deal, stage: Stage) -> list[str]:
    """Labels of the fields `stage` requires that `deal` has not filled."""
    return [label for _, label in unmet_exit_criteria(deal, stage)]


def unmet_exit_criteria(deal: Deal, stage: Stage) -> list[tuple[str, str]]:
    """(criterion, label) of each field `stage` requires that `deal` has not filled."""
    missing = []
    for name in stage.exit_criteria:
        if name.startswith("custom."):
            key = name.split(".", 1)[1]
            if deal.custom.get(key) in (None, "", []):
                label = (
                    PropertyDefinition.objects.filter(object_type=ObjectType.DEAL, key=key)
                    .values_list("label", flat=True)
                    .first()
                )
                missing.append((name, label or key))
            continue
        if name == "contacts":
            if not deal.deal_contacts.exists():
                missing.append((name, "Contacts"))
            continue
        try:
            field = Deal._meta.get_field(name)
        except FieldDoesNotExist:  # a criterion naming a removed field no longer applies
            continue
        value = getattr(deal, field.attname)
        if value in (None, "") or (name == "amount" and not value):
            missing.append((name, str(field.verbose_name).capitalize()))
    missing.extend((name, label) for name, label, met in pillar_criteria(deal, stage) if not met)
    return missing


@transaction.atomic
def move_deal_stage(
    deal: Deal,
    to_stage: Stage,
    *,
    actor,
    reason: str = "",
    origin: str = Origin.UI,
    at: datetime | None = None,
) -> DealStageChange | None:
    """Move a deal to another stage of its pipeline, enforcing the exit criteria of the stage it leaves."""
    access.require(actor, "edit", deal)
    current = Deal.objects.select_for_update().select_related("stage").get(pk=deal.pk)
    if to_stage.pipeline_id != current.pipeline_id:
        raise ValidationError("That stage belongs to another pipeline.")
    if to_stage.pk == current.stage_id:
        return None
    from_stage = current.stage
    # Exit criteria guard progress; a deal may always be marked lost, whatever it is missing.
    moving_on = to_stage.outcome != Stage.Outcome.LOST and (
        to_stage.position > from_stage.position or to_stage.outcome == Stage.Outcome.WON
    )
    if moving_on and from_stage.outcome == Stage.Outcome.OPEN:
        missing = unmet_exit_criteria(current, from_stage)
        if missing:
            error = ExitCriteriaError(
                f"Before leaving “{from_stage.name}”, fill in: {', '.join(label for _, label in missing)}.",
                code="exit_criteria",
            )
            error.criteria = missing
            raise error
    reason = (reason or "").strip()
    if to_stage.outcome == Stage.Outcome.LOST and not reason:
        raise ValidationError("Say why the deal was lost.", code="lost_reason")
    when = at or timezone.now()
    seconds = int((when - current.stage_entered_at).total_seconds())
    update = {"stage": to_stage, "stage_entered_at": when, "version": F("version") + 1, "updated_at": when}
    if to_stage.outcome == Stage.Outcome.OPEN:
        update.update(status=DealStatus.OPEN, closed_at=None)
    else:
        update.update(status=to_stage.outcome, closed_at=when, close_reason=reason[:200])
    Deal.objects.filter(pk=current.pk).update(**update)
    change = DealStageChange.objects.create(
        deal=current,
        from_stage=from_stage,
        to_stage=to_stage,
        changed_at=when,
        actor=_user(actor),
        origin=origin,
        seconds_in_from=max(seconds, 0),
    )
    primary = current.deal_contacts.select_related("contact").order_by("id").first()
    contact = primary.contact if primary else None
    kind = {
        Stage.Outcome.WON: Kind.DEAL_WON,
        Stage.Outcome.LOST: Kind.DEAL_LOST,
    }.get(to_stage.outcome, Kind.DEAL_STAGE_CHANGED)
    record_touch(
        kind=kind,
        team=team_of(actor),
        deal=current,
        contact=contact,
        company=current.company,
        actor=actor,
        occurred_at=when,
        summary=summaries.deal_stage_changed(current.name, from_stage.name, to_stage.name, reason),
        details={"from": from_stage.pk, "to": to_stage.pk, "reason": reason, "amount": str(current.amount)},
    )
    record_audit(
        actor=actor, action="stage", obj=current, origin=origin, changes={"stage": (from_stage.name, to_stage.name)}
    )
    current.refresh_from_db()
    payload = payloads.deal_stage_changed(payloads.record(current), from_stage.name, to_stage.name)
    publish("deal.stage_changed", current, payload)
    if to_stage.outcome != Stage.Outcome.OPEN:
        publish(f"deal.{to_stage.outcome}", current, payload)
    if to_stage.outcome == Stage.Outcome.WON:
        for role in current.deal_contacts.select_related("contact"):
            promote(role.contact, LifecycleStage.CUSTOMER, actor=actor, reason="Deal won", at=when)
    _entered(current, to_stage, actor)
    deal.stage = to_stage
    deal.stage_id = to_stage.pk
    return change


@transaction.atomic
def add_deal_contact(deal: Deal, contact: Contact, *, role: str, actor, origin: str = Origin.UI) -> DealContact:
    """Put a contact on a deal with a role, or change the role of one already on it."""
    access.require(actor, "edit", deal)
    if role not in DealContact.Role.values:
        raise ValidationError({"role": "Choose one of the roles offered."})
    before = DealContact.objects.filter(deal=deal, contact=contact).values_list("role", flat=True).first()
    link, _ = DealContact.objects.update_or_create(deal=deal, contact=contact, defaults={"role": role})
    if before != role:
        # The audit log shows people and roles in words: the contact's name, the role's label.
        old = f"{contact} ({DealContact.Role(before).label})" if before else None
        new = f"{contact} ({link.get_role_display()})"
        record_audit(actor=actor, action="associate", obj=deal, changes={"contact": (old, new)}, origin=origin)
    return link


@transaction.atomic
def remove_deal_contact(deal: Deal, contact: Contact, *, actor, origin: str = Origin.UI) -> bool:
    """Take a contact off a deal; False when it was not on it (a double click removes it once)."""
    access.require(actor, "edit", deal)
    link = DealContact.objects.select_for_update().filter(deal=deal, contact=contact).first()
    if link is None:
        return False
    link.delete()
    record_audit(
        actor=actor,
        action="dissociate",
        obj=deal,
        changes={"contact": (f"{contact} ({link.get_role_display()})", None)},
        origin=origin,
    )
    return True
