"""change_lifecycle_stage: move the contact through crm's lifecycle service, with the workflow as the reason."""

from django.core.exceptions import ValidationError

from smarketing.core.models import Origin
from smarketing.workflows.actions import Action, StepContext, StepOutcome, action
from smarketing.workflows.actions.common import actor, boolean, only, params_of, step_reason, would


def _stage_label(stage: str) -> str:
    from smarketing.crm.models import LifecycleStage

    return dict(LifecycleStage.choices).get(stage, stage)


@action("change_lifecycle_stage", label="Change lifecycle stage")
class ChangeLifecycleStage(Action):
    def validate(self, params: dict) -> dict:
        from smarketing.crm.models import LifecycleStage

        params = dict(params or {})
        only(params, {"stage", "allow_backward"})
        stage = str(params.get("stage") or "").strip()
        if stage not in LifecycleStage.values:
            raise ValidationError({"stage": "Choose a lifecycle stage."})
        return {"stage": stage, "allow_backward": boolean(params, "allow_backward")}

    def describe(self, params: dict) -> str:
        text = f"Change lifecycle stage to {_stage_label(params.get('stage', ''))}"
        return text + (" (also backwards)" if params.get("allow_backward") else "")

    def run(self, ctx: StepContext) -> StepOutcome:
        from smarketing.crm.lifecycle_rules import lifecycle_move
        from smarketing.crm.services.lifecycle import change_lifecycle_stage

        params = params_of(ctx)
        stage, label = params["stage"], _stage_label(params["stage"])
        before = ctx.contact.lifecycle_stage
        move = lifecycle_move(before, stage)
        if move is None:
            return StepOutcome(summary=f"Already {label}")
        if move.backward and not params.get("allow_backward"):
            return StepOutcome(
                status="skipped",
                summary=f"Not moved back from {_stage_label(before)} to {label} (the step only moves forward)",
            )
        try:
            change_lifecycle_stage(
                ctx.contact,
                stage,
                actor=actor(),
                reason=step_reason(ctx),
                origin=Origin.WORKFLOW,
                allow_backward=bool(params.get("allow_backward")),
            )
        except ValidationError as exc:
            return StepOutcome(status="skipped", summary=f"Stage not changed: {' '.join(exc.messages)}"[:500])
        return StepOutcome(
            summary=f"Lifecycle stage {_stage_label(before)} → {label}", result={"from": before, "to": stage}
        )

    def dry_run(self, ctx: StepContext) -> StepOutcome:
        from smarketing.crm.lifecycle_rules import lifecycle_move

        params = params_of(ctx)
        move = lifecycle_move(ctx.contact.lifecycle_stage, params.get("stage", ""))
        if move is None:
            return StepOutcome(summary=f"Already {_stage_label(params.get('stage', ''))}: nothing to change")
        if move.backward and not params.get("allow_backward"):
            return StepOutcome(status="skipped", summary="Would skip: the step only moves forward")
        return StepOutcome(summary=would(self.describe(params)))
