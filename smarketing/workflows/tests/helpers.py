"""Test helpers of the workflow actions: a real workflow, enrollment and step run around one step."""

import itertools

from django.utils import timezone

from smarketing.workflows.actions import StepContext, get
from smarketing.workflows.models import Enrollment, StepRun, Workflow, WorkflowStatus

_ids = itertools.count(1)


def make_workflow(steps=None, *, name="Nurture", owner=None, **fields) -> Workflow:
    fields.setdefault("status", WorkflowStatus.ACTIVE)
    return Workflow.objects.create(
        name=name,
        owner=owner,
        trigger={"type": "contact_created", "params": {}},
        definition={"steps": steps or []},
        **fields,
    )


def step_context(step_type: str, params: dict, contact, *, workflow=None, step_id=None, dry=False) -> StepContext:
    """The context the engine hands an action: params cleaned by the action's validate(), rows that exist."""
    action = get(step_type)
    step = {"id": step_id or f"s{next(_ids)}", "type": step_type, "params": action.validate(params)}
    if workflow is None:
        workflow = make_workflow([step])
    else:
        definition = workflow.definition or {"steps": []}
        definition.setdefault("steps", []).append(step)
        Workflow.objects.filter(pk=workflow.pk).update(definition=definition)
        workflow.definition = definition
    enrollment = Enrollment.objects.filter(workflow=workflow, contact=contact, status="active").first()
    enrollment = enrollment or Enrollment.objects.create(workflow=workflow, contact=contact)
    step_run = None
    if not dry:
        step_run = StepRun.objects.create(
            enrollment=enrollment, step_id=step["id"], step_type=step_type, status="waiting"
        )
    return StepContext(
        workflow=workflow,
        enrollment=enrollment,
        contact=contact,
        step=step,
        now=timezone.now(),
        step_run=step_run,
        dry=dry,
    )


def run(ctx: StepContext):
    return get(ctx.step["type"]).run(ctx)


def dry_run(ctx: StepContext):
    return get(ctx.step["type"]).dry_run(ctx)
