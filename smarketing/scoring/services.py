"""Every write to lead scoring: groups and rules (checked, audited, followed by a recompute job) and manual or
workflow score adjustments (`adjust_score`, which the workflows "adjust score" action calls)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from smarketing.core.audit import actor_user, record_audit
from smarketing.core.models import Origin
from smarketing.crm import access as crm_access
from smarketing.scoring import access, rules
from smarketing.scoring import recompute as rc
from smarketing.scoring.models import (
    ChangeSource,
    ContactScore,
    Dimension,
    ScoreChange,
    ScoreGroup,
    ScoringRule,
    ScoringState,
)

MAX_HALF_LIFE = 3650
MAX_CAP = rc.LIMIT
GROUP_FIELDS = (
    "name",
    "description",
    "is_primary",
    "fit_cap",
    "engagement_cap",
    "half_life_days",
    "mql_threshold",
    "mql_segment",
)
RULE_FIELDS = ("dimension", "name", "condition", "points", "max_times", "active")


# -- cleaning -----------------------------------------------------------------------------------------------


def _text(value, field: str, limit: int, *, required: bool) -> str:
    value = value.strip() if isinstance(value, str) else ""
    if required and not value:
        raise ValidationError({field: "Give it a name."})
    if len(value) > limit:
        raise ValidationError({field: f"At most {limit} characters."})
    return value


def _number(value, field: str, *, low: int, high: int, optional: bool = True) -> int | None:
    if value in (None, ""):
        if optional:
            return None
        raise ValidationError({field: "Enter a number."})
    if isinstance(value, bool):
        raise ValidationError({field: "Enter a whole number."})
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValidationError({field: "Enter a whole number."}) from None
    if not low <= number <= high:
        raise ValidationError({field: f"Enter a number from {low} to {high}."})
    return number


def _clean_group(data: dict) -> dict:
    from smarketing.segments.models import Segment

    clean = {}
    if "name" in data:
        clean["name"] = _text(data["name"], "name", 100, required=True)
    if "description" in data:
        clean["description"] = _text(data["description"], "description", 300, required=False)
    if "is_primary" in data:
        clean["is_primary"] = bool(data["is_primary"])
    for field in ("fit_cap", "engagement_cap"):
        if field in data:
            clean[field] = _number(data[field], field, low=0, high=MAX_CAP)
    if "half_life_days" in data:
        clean["half_life_days"] = _number(
            data["half_life_days"], "half_life_days", low=0, high=MAX_HALF_LIFE, optional=False
        )
    if "mql_threshold" in data:
        clean["mql_threshold"] = _number(data["mql_threshold"], "mql_threshold", low=1, high=2 * MAX_CAP)
    if "mql_segment" in data:
        segment = data["mql_segment"]
        if segment in (None, ""):
            clean["mql_segment"] = None
        else:
            segment_id = (
                segment.pk if isinstance(segment, Segment) else _number(segment, "mql_segment", low=1, high=2**62)
            )
            found = Segment.objects.filter(pk=segment_id, archived=False).first()
            if found is None:
                raise ValidationError({"mql_segment": "Choose an existing segment."})
            clean["mql_segment"] = found
    return clean


def _clean_rule(data: dict, *, dimension: str) -> dict:
    clean = {}
    if "name" in data:
        clean["name"] = _text(data["name"], "name", 200, required=True)
    if "condition" in data:
        try:
            clean["condition"] = rules.validate_condition(dimension, data["condition"])
        except ValidationError as exc:
            raise ValidationError({"condition": exc.messages}) from None
    if "points" in data:
        points = _number(data["points"], "points", low=-rules.MAX_POINTS, high=rules.MAX_POINTS, optional=False)
        if points == 0:
            raise ValidationError({"points": "A rule is worth some points (negative ones subtract)."})
        clean["points"] = points
    if "max_times" in data:
        clean["max_times"] = _number(data["max_times"], "max_times", low=1, high=rules.MAX_TIMES)
        if clean["max_times"] is not None and dimension == Dimension.FIT:
            raise ValidationError({"max_times": "Only engagement rules count touches."})
    if "active" in data:
        clean["active"] = bool(data["active"])
    return clean


def _changes(obj, clean: dict) -> dict:
    changes = {}
    for field, value in clean.items():
        old = getattr(obj, field)
        if old != value:
            changes[field] = (str(old) if hasattr(old, "pk") else old, str(value) if hasattr(value, "pk") else value)
    return changes


# -- groups -------------------------------------------------------------------------------------------------


@transaction.atomic
def create_group(actor, **data) -> ScoreGroup:
    access.require_edit(actor)
    clean = _clean_group({"half_life_days": 30, **data})
    if "name" not in clean:
        raise ValidationError({"name": "Give it a name."})
    if ScoreGroup.objects.filter(name__iexact=clean["name"]).exists():
        raise ValidationError({"name": "A score group with this name exists."})
    # The first group is the primary one (the contact's Fit and Engagement columns need one).
    if not ScoreGroup.objects.exists():
        clean["is_primary"] = True
    elif clean.get("is_primary"):
        ScoreGroup.objects.filter(is_primary=True).update(is_primary=False)
    group = ScoreGroup.objects.create(**clean)
    record_audit(actor=actor, action="score_group_create", obj=group)
    return group


@transaction.atomic
def update_group(actor, group: ScoreGroup, **data) -> ScoreGroup:
    access.require_edit(actor)
    unknown = set(data) - set(GROUP_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    group = ScoreGroup.objects.select_for_update().get(pk=group.pk)
    clean = _clean_group(data)
    if "name" in clean and ScoreGroup.objects.filter(name__iexact=clean["name"]).exclude(pk=group.pk).exists():
        raise ValidationError({"name": "A score group with this name exists."})
    if group.is_primary and clean.get("is_primary") is False:
        raise ValidationError({"is_primary": "Make another group primary instead."})
    changes = _changes(group, clean)
    if not changes:
        return group
    becomes_primary = clean.get("is_primary") and not group.is_primary
    if becomes_primary:
        ScoreGroup.objects.filter(is_primary=True).update(is_primary=False)
    for field, value in clean.items():
        setattr(group, field, value)
    group.updated_at = timezone.now()
    group.save()
    record_audit(actor=actor, action="score_group_update", obj=group, changes=changes)
    if becomes_primary:
        transaction.on_commit(rc.mirror_primary)
    if changes.keys() & {"fit_cap", "engagement_cap", "half_life_days"}:
        request_recompute(actor, group)
    return group


@transaction.atomic
def delete_group(actor, group: ScoreGroup) -> None:
    access.require_edit(actor)
    if group.is_primary and ScoreGroup.objects.exclude(pk=group.pk).exists():
        raise ValidationError("Make another group primary before deleting this one.")
    record_audit(actor=actor, action="score_group_delete", obj=group, object_repr=group.name)
    group.delete()


# -- rules --------------------------------------------------------------------------------------------------


@transaction.atomic
def create_rule(actor, group: ScoreGroup, **data) -> ScoringRule:
    access.require_edit(actor)
    dimension = data.get("dimension")
    if dimension not in Dimension.values:
        raise ValidationError({"dimension": "Choose fit or engagement."})
    clean = _clean_rule(data, dimension=dimension)
    for required in ("name", "condition", "points"):
        if required not in clean:
            raise ValidationError({required: "This field is required."})
    last = group.rules.filter(dimension=dimension).aggregate(m=Max("position"))["m"]
    rule = ScoringRule.objects.create(
        group=group, dimension=dimension, position=0 if last is None else last + 1, **clean
    )
    record_audit(actor=actor, action="score_rule_create", obj=rule)
    request_recompute(actor, group)
    return rule


@transaction.atomic
def update_rule(actor, rule: ScoringRule, **data) -> ScoringRule:
    access.require_edit(actor)
    unknown = set(data) - set(RULE_FIELDS) - {"dimension"}
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    rule = ScoringRule.objects.select_for_update().get(pk=rule.pk)
    if data.get("dimension", rule.dimension) != rule.dimension:
        raise ValidationError({"dimension": "A rule stays fit or engagement; add a new rule instead."})
    clean = _clean_rule(data, dimension=rule.dimension)
    changes = _changes(rule, clean)
    if not changes:
        return rule
    for field, value in clean.items():
        setattr(rule, field, value)
    rule.updated_at = timezone.now()
    rule.save()
    record_audit(actor=actor, action="score_rule_update", obj=rule, changes=changes)
    if changes.keys() - {"name"}:
        request_recompute(actor, rule.group)
    return rule


@transaction.atomic
def delete_rule(actor, rule: ScoringRule) -> None:
    access.require_edit(actor)
    group = rule.group
    record_audit(actor=actor, action="score_rule_delete", obj=rule, object_repr=str(rule))
    rule.delete()
    request_recompute(actor, group)


@transaction.atomic
def move_rule(actor, rule: ScoringRule, direction: str) -> None:
    """Move a rule up or down among its group's rules of the same dimension (the order they are listed in)."""
    access.require_edit(actor)
    siblings = list(
        ScoringRule.objects.select_for_update()
        .filter(group_id=rule.group_id, dimension=rule.dimension)
        .order_by("position", "id")
    )
    index = next(i for i, r in enumerate(siblings) if r.pk == rule.pk)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(siblings):
        return
    siblings[index], siblings[other] = siblings[other], siblings[index]
    for position, r in enumerate(siblings):
        if r.position != position:
            ScoringRule.objects.filter(pk=r.pk).update(position=position)


# -- recompute ----------------------------------------------------------------------------------------------


def state() -> ScoringState:
    obj, _ = ScoringState.objects.get_or_create(pk=1)
    return obj


def request_recompute(actor, group: ScoreGroup | None = None) -> ScoringState:
    """Queue a recompute job (after the commit); the page polls the state row for its progress."""
    from smarketing.scoring.tasks import recompute_scores

    access.require_edit(actor)
    st = state()
    ScoringState.objects.filter(pk=st.pk).update(
        recompute_status=ScoringState.Status.QUEUED, recompute_done=0, recompute_message=""
    )
    user = actor_user(actor)
    group_id = group.pk if group is not None else None
    transaction.on_commit(lambda: recompute_scores.enqueue(group_id=group_id, actor_id=user.pk if user else None))
    st.refresh_from_db()
    return st


def run_recompute(group_id: int | None = None, actor=None) -> rc.Stats:
    """The recompute job's body: every group (or one), with its progress on the state row."""
    st = state()
    group = ScoreGroup.objects.filter(pk=group_id).first() if group_id else None
    steps = 1 if group else ScoreGroup.objects.count()
    ScoringState.objects.filter(pk=st.pk).update(
        recompute_status=ScoringState.Status.RUNNING,
        recompute_steps=steps,
        recompute_done=0,
        recompute_started_at=timezone.now(),
        recompute_finished_at=None,
        recompute_message="",
    )

    def progress(done: int, total: int, g: ScoreGroup) -> None:
        ScoringState.objects.filter(pk=st.pk).update(recompute_done=done, recompute_message=f"{g.name} done")

    try:
        stats = rc.recompute(group, actor=actor, progress=progress)
    except Exception as exc:
        ScoringState.objects.filter(pk=st.pk).update(
            recompute_status=ScoringState.Status.FAILED,
            recompute_finished_at=timezone.now(),
            recompute_message=f"The recompute failed: {exc.__class__.__name__}"[:300],
        )
        raise
    ScoringState.objects.filter(pk=st.pk).update(
        recompute_status=ScoringState.Status.DONE,
        recompute_done=steps,
        recompute_finished_at=timezone.now(),
        recompute_message="",
        recompute_stats=stats.as_dict(),
    )
    return stats


# -- adjustments --------------------------------------------------------------------------------------------


@transaction.atomic
def adjust_score(contact, *, points: int, reason: str, actor, origin: str, group: ScoreGroup | None = None):
    """Add `points` (negative subtracts) to the contact's engagement in `group` (default: the primary group),
    with `reason` in the history; the workflows "adjust score" action calls exactly this.

    Adjustments do not decay and survive every recompute (they are summed in with the rules' points). Returns
    the history line, or None when a cap left the score unchanged.
    """
    access.require_adjust(actor)
    crm_access.require(actor, "edit", contact)
    points = _number(points, "points", low=-rules.MAX_POINTS, high=rules.MAX_POINTS, optional=False)
    reason = _text(reason, "reason", 300, required=False) or "Adjusted by hand"
    group = group or ScoreGroup.objects.filter(is_primary=True).first()
    if group is None:
        raise ValidationError("There is no score group yet; create one on the Scoring page.")
    group = ScoreGroup.objects.select_for_update().get(pk=group.pk)
    now = timezone.now()
    current = ContactScore.objects.filter(contact_id=contact.pk, group=group).first()
    old_fit, old_eng = (current.fit, current.engagement) if current else (0, 0)
    new_eng = rc.clamp(old_eng + points, group.engagement_cap)
    if new_eng == old_eng:
        return None
    change = ScoreChange.objects.create(
        contact_id=contact.pk,
        group=group,
        dimension=Dimension.ENGAGEMENT,
        delta=new_eng - old_eng,
        score_after=new_eng,
        source=ChangeSource.WORKFLOW if origin == Origin.WORKFLOW else ChangeSource.MANUAL,
        reason=reason,
        actor=actor_user(actor),
        occurred_at=now,
    )
    rc.write_diff_rows([(contact.pk, old_fit, old_eng, old_fit, new_eng)])
    rc.apply_diff(group, now=now)
    record_audit(
        actor=actor,
        action="score_adjust",
        obj=contact,
        origin=origin,
        changes={f"{group.name} engagement": (old_eng, new_eng)},
    )
    return change
