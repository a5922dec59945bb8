"""adjust_score: add or take points through the scoring pillar's service (its history explains the change)."""

from django.core.exceptions import ValidationError

from smarketing.core.models import Origin
from smarketing.workflows.actions import Action, StepContext, StepOutcome, action
from smarketing.workflows.actions.common import actor, integer, only, params_of, step_reason, text, would

MAX_POINTS = 1000


def _service():
    """scoring.services.adjust_score, or None while the scoring part is not installed yet."""
    try:
        from smarketing.scoring.services import adjust_score
    except ImportError:
        return None
    return adjust_score


@action("adjust_score", label="Adjust the score")
class AdjustScore(Action):
    def validate(self, params: dict) -> dict:
        params = dict(params or {})
        only(params, {"points", "reason", "group"})
        points = integer(params, "points", label="the points", low=-MAX_POINTS, high=MAX_POINTS)
        if points == 0:
            raise ValidationError({"points": "Add or take away at least one point."})
        group = integer(params, "group", label="a score group", required=False, low=1)
        return {"points": points, "reason": text(params, "reason", label="the reason", max_length=200), "group": group}

    def describe(self, params: dict) -> str:
        points = params.get("points") or 0
        return f"{'Add' if points > 0 else 'Take away'} {abs(points)} points"

    def run(self, ctx: StepContext) -> StepOutcome:
        adjust = _service()
        if adjust is None:
            return StepOutcome(status="failed", summary="Scoring is not installed")
        params = params_of(ctx)
        group = None
        if params.get("group"):
            from smarketing.scoring.models import ScoreGroup

            group = ScoreGroup.objects.filter(pk=params["group"]).first()
        reason = params.get("reason") or step_reason(ctx)
        try:
            change = adjust(
                ctx.contact, points=params["points"], reason=reason, actor=actor(), origin=Origin.WORKFLOW, group=group
            )
        except ValidationError as exc:
            return StepOutcome(status="skipped", summary=f"Score not changed: {' '.join(exc.messages)}"[:500])
        if change is None:
            return StepOutcome(status="skipped", summary="Score not changed: it is at its cap")
        sign = "+" if change.delta > 0 else "−"
        return StepOutcome(
            summary=f"{sign}{abs(change.delta)} points: {reason}"[:500],
            result={**params, "delta": change.delta, "score": change.score_after},
        )

    def dry_run(self, ctx: StepContext) -> StepOutcome:
        return StepOutcome(summary=would(self.describe(params_of(ctx))))
