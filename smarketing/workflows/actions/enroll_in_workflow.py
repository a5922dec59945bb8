"""enroll_in_workflow: put the contact into another workflow (the engine refuses loops A → B → A)."""

from django.core.exceptions import ValidationError

from smarketing.workflows.actions import Action, StepContext, StepOutcome, action
from smarketing.workflows.actions.common import actor, integer, only, params_of, would


def _workflow(pk):
    from smarketing.workflows.models import Workflow, WorkflowStatus

    return Workflow.objects.exclude(status=WorkflowStatus.ARCHIVED).filter(pk=pk).first() if pk else None


@action("enroll_in_workflow", label="Enroll in another workflow")
class EnrollInWorkflow(Action):
    def validate(self, params: dict) -> dict:
        params = dict(params or {})
        only(params, {"workflow"})
        target = integer(params, "workflow", label="a workflow")
        if _workflow(target) is None:
            raise ValidationError({"workflow": "Choose a workflow that is not archived."})
        return {"workflow": target}

    def describe(self, params: dict) -> str:
        target = _workflow(params.get("workflow"))
        return f"Enroll in “{target.name}”" if target else "Enroll in a deleted workflow"

    def run(self, ctx: StepContext) -> StepOutcome:
        from smarketing.workflows import services

        target = _workflow(params_of(ctx).get("workflow"))
        if target is None:
            return StepOutcome(status="skipped", summary="The workflow was archived or deleted")
        if target.pk == ctx.workflow.pk:
            return StepOutcome(status="skipped", summary="A workflow cannot enroll a contact in itself")
        try:
            enrollment = services.enroll(target, ctx.contact, actor=actor(), enrolled_by=ctx.workflow)
        except ValidationError as exc:
            return StepOutcome(status="skipped", summary=f"Not enrolled: {' '.join(exc.messages)}"[:500])
        if enrollment is None:
            return StepOutcome(
                status="skipped",
                summary=f"Not enrolled in “{target.name}” (its enrollment rules or status refuse it)"[:500],
            )
        return StepOutcome(
            summary=f"Enrolled in “{target.name}”"[:500], result={"workflow": target.pk, "enrollment": enrollment.pk}
        )

    def dry_run(self, ctx: StepContext) -> StepOutcome:
        return StepOutcome(summary=would(self.describe(params_of(ctx))))
