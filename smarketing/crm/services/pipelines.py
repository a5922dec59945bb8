"""Pipelines, their stages and the lifecycle-stage settings: the admin's writes, each audited.

Stage order matters beyond display: `move_deal_stage` treats a move to a later position as progress (which
the exit criteria guard), so reordering is a real change and is audited like one. A stage's outcome must
agree with the status of the deals in it (the board and the metrics rely on it), so the outcome of a stage
holding deals cannot change; removing such a stage moves its deals to a stage the admin picks.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, F, Max, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from smarketing.accounts.access import require_admin
from smarketing.accounts.models import Team as UserTeam
from smarketing.core.audit import record_audit
from smarketing.core.events import publish
from smarketing.core.models import Origin
from smarketing.crm import kinds as Kind
from smarketing.crm import payloads, summaries
from smarketing.crm.models import (
    Deal,
    DealStageChange,
    DealStatus,
    LifecycleStage,
    LifecycleStageSetting,
    ObjectType,
    Pipeline,
    PropertyDefinition,
    Stage,
)
from smarketing.crm.services.common import _user, team_of
from smarketing.timeline.services import record_touches

ADMINS_ONLY = "Only admins can change pipelines and stages."
MAX_STAGES = 30
# Exit criteria a stage can require, besides the deal's custom properties ("custom.<key>"). The board and
# `move_deal_stage` check them through `missing_exit_criteria`.
BUILT_IN_CRITERIA = [
    ("contacts", "At least one contact"),
    ("company", "Company"),
    ("amount", "Amount"),
    ("close_date", "Close date"),
    ("owner", "Owner"),
    ("source", "Source"),
    ("campaign", "Campaign"),
]


def exit_criteria_choices() -> list[tuple[str, str]]:
    custom = PropertyDefinition.objects.filter(object_type=ObjectType.DEAL).values_list("key", "label")
    return BUILT_IN_CRITERIA + [(f"custom.{key}", f"{label} (custom property)") for key, label in custom]


def criteria_labels(criteria: list[str], choices: list[tuple[str, str]] | None = None) -> list[str]:
    """Human names of a stage's exit criteria; one that names a removed property shows its key."""
    names = dict(choices if choices is not None else exit_criteria_choices())
    return [names.get(c, c.removeprefix("custom.")) for c in criteria]


def _audit_values(stage_or_data) -> dict:
    get = stage_or_data.get if isinstance(stage_or_data, dict) else lambda k: getattr(stage_or_data, k)
    # Keyed and valued in words: the audit log shows these as they are.
    return {
        "name": get("name"),
        "probability": f"{get('probability')} %",
        "responsible team": Stage.Team(get("team")).label,
        "target days": get("target_days") if get("target_days") is not None else "",
        "exit criteria": ", ".join(criteria_labels(get("exit_criteria"))),
        "outcome": Stage.Outcome(get("outcome")).label,
    }


def _clean_stage(pipeline: Pipeline, data: dict, *, exclude: int | None = None) -> dict:
    errors, clean = {}, {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = "A stage needs a name."
    elif len(name) > 100:
        errors["name"] = "At most 100 characters."
    elif pipeline.stages.filter(name__iexact=name).exclude(pk=exclude).exists():
        errors["name"] = f"{pipeline} already has a stage called {name}."
    clean["name"] = name
    try:
        probability = int(data.get("probability", 0))
    except (TypeError, ValueError):
        probability = -1
    if not 0 <= probability <= 100:
        errors["probability"] = "A percentage from 0 to 100."
    clean["probability"] = probability
    team = data.get("team") or Stage.Team.SALES
    if team not in Stage.Team.values:
        errors["team"] = "Choose marketing or sales."
    clean["team"] = team
    days = data.get("target_days")
    if days in (None, ""):
        clean["target_days"] = None
    else:
        try:
            clean["target_days"] = int(days)
        except (TypeError, ValueError):
            clean["target_days"] = 0
        if not 1 <= clean["target_days"] <= 3650:
            errors["target_days"] = "Days from 1 to 3650, or empty for no target."
    outcome = data.get("outcome") or Stage.Outcome.OPEN
    if outcome not in Stage.Outcome.values:
        errors["outcome"] = "Choose open, won or lost."
    clean["outcome"] = outcome
    criteria = data.get("exit_criteria") or []
    allowed = [value for value, _ in exit_criteria_choices()]
    unknown = [c for c in criteria if c not in allowed]
    if not isinstance(criteria, list | tuple) or unknown:
        errors["exit_criteria"] = f"Unknown exit criteria: {', '.join(map(str, unknown))}."
    elif criteria and outcome != Stage.Outcome.OPEN:
        errors["exit_criteria"] = "Only open stages have exit criteria: deals do not leave a won or lost stage."
    clean["exit_criteria"] = [c for c in allowed if c in criteria]  # one order everywhere
    if errors:
        raise ValidationError(errors)
    return clean


def _check_pipeline_name(name: str, *, exclude: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A pipeline needs a name."})
    if len(name) > 100:
        raise ValidationError({"name": "At most 100 characters."})
    if Pipeline.objects.filter(name__iexact=name).exclude(pk=exclude).exists():
        raise ValidationError({"name": f"There is already a pipeline called {name}."})
    return name


@transaction.atomic
def create_pipeline(*, actor, name: str, is_default: bool = False, origin: str = Origin.UI) -> Pipeline:
    require_admin(actor, ADMINS_ONLY)
    name = _check_pipeline_name(name)
    position = (Pipeline.objects.aggregate(top=Max("position"))["top"] or 0) + 1
    first = not Pipeline.objects.exists()
    try:
        with transaction.atomic():
            pipeline = Pipeline.objects.create(name=name, position=position, is_default=is_default or first)
    except IntegrityError:
        raise ValidationError({"name": f"There is already a pipeline called {name}."})
    if pipeline.is_default:
        Pipeline.objects.exclude(pk=pipeline.pk).update(is_default=False)
    record_audit(actor=actor, action="create", obj=pipeline, origin=origin)
    return pipeline


@transaction.atomic
def update_pipeline(pipeline: Pipeline, *, actor, name: str, is_default: bool, origin: str = Origin.UI) -> Pipeline:
    require_admin(actor, ADMINS_ONLY)
    current = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    name = _check_pipeline_name(name, exclude=current.pk)
    changes = {}
    if current.name != name:
        changes["name"] = (current.name, name)
    if is_default and not current.is_default:
        # One default pipeline: new deals and the board start there. It can only be handed on, not unset.
        changes["default"] = ("No", "Yes")
        Pipeline.objects.exclude(pk=current.pk).update(is_default=False)
        current.is_default = True
    current.name = name
    if changes:
        try:
            with transaction.atomic():
                current.save(update_fields=["name", "is_default"])
        except IntegrityError:
            raise ValidationError({"name": f"There is already a pipeline called {name}."})
        record_audit(actor=actor, action="update", obj=current, changes=changes, origin=origin)
    return current


@transaction.atomic
def delete_pipeline(pipeline: Pipeline, *, actor, origin: str = Origin.UI) -> None:
    require_admin(actor, ADMINS_ONLY)
    if Deal.objects.filter(pipeline=pipeline).exists():
        raise ValidationError(f"{pipeline} holds deals. Move or delete them first; a pipeline with deals stays.")
    if Pipeline.objects.count() == 1:
        raise ValidationError("This is the only pipeline; deals need one. Create another before removing it.")
    record_audit(actor=actor, action="delete", obj=pipeline, origin=origin)
    was_default = pipeline.is_default
    pipeline.delete()
    if was_default:
        Pipeline.objects.filter(pk=Pipeline.objects.order_by("position", "id").values("pk")[:1]).update(is_default=True)


def _stage_repr(stage: Stage) -> str:
    return f"{stage.name} ({stage.pipeline.name})"


@transaction.atomic
def add_stage(pipeline: Pipeline, *, actor, data: dict, origin: str = Origin.UI) -> Stage:
    """Append a stage at the end of the pipeline (reorder afterwards)."""
    require_admin(actor, ADMINS_ONLY)
    pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)  # serialises positions per pipeline
    if pipeline.stages.count() >= MAX_STAGES:
        raise ValidationError(f"A pipeline has at most {MAX_STAGES} stages.")
    clean = _clean_stage(pipeline, data)
    position = (pipeline.stages.aggregate(top=Max("position"))["top"] or 0) + 1 if pipeline.stages.exists() else 0
    stage = Stage.objects.create(pipeline=pipeline, position=position, **clean)
    changes = {name: (None, value) for name, value in _audit_values(stage).items()}
    record_audit(
        actor=actor, action="create", obj=stage, changes=changes, origin=origin, object_repr=_stage_repr(stage)
    )
    return stage


@transaction.atomic
def update_stage(stage: Stage, *, actor, data: dict, origin: str = Origin.UI) -> Stage:
    require_admin(actor, ADMINS_ONLY)
    current = Stage.objects.select_for_update().select_related("pipeline").get(pk=stage.pk)
    clean = _clean_stage(current.pipeline, {**_stage_dict(current), **data}, exclude=current.pk)
    if clean["outcome"] != current.outcome and current.deals.exists():
        raise ValidationError(
            {
                "outcome": f"“{current.name}” holds deals, whose status follows the stage. Move them out first, or "
                "add a new stage with this outcome."
            }
        )
    before = _audit_values(current)
    for name, value in clean.items():
        setattr(current, name, value)
    after = _audit_values(current)
    changes = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    if changes:
        current.save(update_fields=list(clean))
        record_audit(
            actor=actor, action="update", obj=current, changes=changes, origin=origin, object_repr=_stage_repr(current)
        )
    return current


def _stage_dict(stage: Stage) -> dict:
    return {n: getattr(stage, n) for n in ("name", "probability", "team", "target_days", "exit_criteria", "outcome")}


def _set_positions(pipeline: Pipeline, ordered_ids: list[int]) -> None:
    # (pipeline, position) is unique, so positions move in two steps: out of the way, then into place.
    stages = {s.pk: s for s in pipeline.stages.all()}
    for base in (1000, 0):
        for index, pk in enumerate(ordered_ids):
            stages[pk].position = base + index
        Stage.objects.bulk_update([stages[pk] for pk in ordered_ids], ["position"])


@transaction.atomic
def reorder_stages(pipeline: Pipeline, *, actor, order: list[int], origin: str = Origin.UI) -> None:
    """Put the pipeline's stages in `order` (every stage id of the pipeline, once)."""
    require_admin(actor, ADMINS_ONLY)
    pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    stages = list(pipeline.stages.order_by("position"))
    if sorted(order) != sorted(s.pk for s in stages):
        raise ValidationError("The stages changed since the page was opened; reload it and try again.")
    names = {s.pk: s.name for s in stages}
    before = [s.pk for s in stages]
    if before == list(order):
        return
    _set_positions(pipeline, list(order))
    record_audit(
        actor=actor,
        action="reorder",
        obj=pipeline,
        origin=origin,
        changes={"stage order": (" → ".join(names[i] for i in before), " → ".join(names[i] for i in order))},
    )


def move_stage(stage: Stage, *, actor, direction: str) -> None:
    """One step up or down: the keyboard and no-JavaScript way to reorder."""
    order = list(stage.pipeline.stages.order_by("position").values_list("pk", flat=True))
    index = order.index(stage.pk)
    target = index - 1 if direction == "up" else index + 1
    if 0 <= target < len(order):
        order[index], order[target] = order[target], order[index]
        reorder_stages(stage.pipeline, actor=actor, order=order)


@transaction.atomic
def remove_stage(stage: Stage, *, actor, move_to: Stage | None = None, origin: str = Origin.UI) -> int:
    """Remove a stage; its deals (if any) move to `move_to`, which is then required. Returns deals moved.

    The moves are set-based (one UPDATE, one INSERT of stage history, the touches in batches) but record what
    `move_deal_stage` records: the stage history row, the timeline touch and the `deal.stage_changed` event.
    Exit criteria are not applied: this is the admin restructuring the pipeline, not a rep moving a deal.
    """
    require_admin(actor, ADMINS_ONLY)
    current = Stage.objects.select_for_update().select_related("pipeline").get(pk=stage.pk)
    deals = list(Deal.objects.select_for_update().filter(stage=current))
    if deals and move_to is None:
        raise ValidationError(
            f"{len(deals)} deal{'s are' if len(deals) != 1 else ' is'} in “{current.name}”. Choose the stage "
            "they move to."
        )
    if move_to is not None and (move_to.pipeline_id != current.pipeline_id or move_to.pk == current.pk):
        raise ValidationError("Choose another stage of the same pipeline for its deals.")
    if deals:
        _move_all(current, move_to, deals, actor=actor, origin=origin)
    record_audit(
        actor=actor,
        action="delete",
        obj=current,
        origin=origin,
        object_repr=_stage_repr(current),
        changes={"deals moved": (None, f"{len(deals)} to {move_to.name}")} if deals else None,
    )
    pipeline = current.pipeline
    current.delete()
    _set_positions(pipeline, list(pipeline.stages.order_by("position").values_list("pk", flat=True)))
    return len(deals)


def _move_all(from_stage: Stage, to_stage: Stage, deals: list[Deal], *, actor, origin: str) -> None:
    now = timezone.now()
    update = {"stage": to_stage, "stage_entered_at": now, "updated_at": now}
    if to_stage.outcome == Stage.Outcome.OPEN:
        update.update(status=DealStatus.OPEN, closed_at=None)
    elif to_stage.outcome != from_stage.outcome:
        update.update(
            status=to_stage.outcome, closed_at=Coalesce(F("closed_at"), Value(now, output_field=DateTimeField()))
        )
    Deal.objects.filter(pk__in=[d.pk for d in deals]).update(**update)
    DealStageChange.objects.bulk_create(
        [
            DealStageChange(
                deal=deal,
                from_stage=from_stage,
                to_stage=to_stage,
                changed_at=now,
                actor=_user(actor),
                origin=origin,
                seconds_in_from=max(int((now - deal.stage_entered_at).total_seconds()), 0),
            )
            for deal in deals
        ],
        batch_size=1000,
    )
    reason = f"stage “{from_stage.name}” removed"
    record_touches(
        {
            "kind": Kind.DEAL_STAGE_CHANGED,
            "team": team_of(actor),
            "deal": deal.pk,
            "company": deal.company_id,
            "actor": actor,
            "occurred_at": now,
            "summary": summaries.deal_stage_changed(deal.name, from_stage.name, to_stage.name, reason),
            "details": {"from": from_stage.pk, "to": to_stage.pk, "reason": reason, "amount": str(deal.amount)},
        }
        for deal in deals
    )
    for deal in Deal.objects.filter(pk__in=[d.pk for d in deals]).select_related("company"):
        publish(
            "deal.stage_changed",
            deal,
            payloads.deal_stage_changed(payloads.record(deal), from_stage.name, to_stage.name),
        )


@transaction.atomic
def update_lifecycle_settings(*, actor, values: dict[str, dict], origin: str = Origin.UI) -> int:
    """Set each stage's description and owning team: {stage: {"description": str, "team": Team | id | None}}."""
    require_admin(actor, "Only admins can change the lifecycle-stage settings.")
    unknown = set(values) - set(LifecycleStage.values)
    if unknown:
        raise ValidationError(f"Unknown lifecycle stages: {', '.join(sorted(unknown))}.")
    current = LifecycleStageSetting.objects.select_for_update(of=("self",)).by_stage()
    teams = {t.pk: t for t in UserTeam.objects.all()}
    changed = 0
    for stage, wanted in values.items():
        setting = current[stage]
        description = str(wanted.get("description") or "").strip()
        if len(description) > 2000:
            raise ValidationError({stage: "At most 2000 characters."})
        team_id = getattr(wanted.get("team"), "pk", wanted.get("team")) or None
        if team_id is not None and team_id not in teams:
            raise ValidationError({stage: "Unknown team."})
        changes = {}
        if setting.description != description:
            changes["description"] = (setting.description, description)
        if setting.team_id != team_id:
            changes["team"] = (str(teams.get(setting.team_id) or ""), str(teams.get(team_id) or ""))
        if not changes:
            continue
        setting.description, setting.team_id = description, team_id
        setting.save()
        record_audit(
            actor=actor,
            action="update",
            obj=setting,
            changes=changes,
            origin=origin,
            object_repr=f"Lifecycle stage {setting.get_stage_display()}",
        )
        changed += 1
    return changed
