"""create_task: a task for the contact's owner (or a named user when it has none), due in N days."""

from datetime import timedelta

from django.core.exceptions import ValidationError

from smarketing.core.models import Origin
from smarketing.workflows.actions import Action, StepContext, StepOutcome, action
from smarketing.workflows.actions.common import actor, integer, only, params_of, text

MAX_DAYS = 365


def _fallback_user(params: dict):
    from smarketing.crm.services.common import assignable_users

    return assignable_users().filter(pk=params.get("fallback_owner")).first() if params.get("fallback_owner") else None


def _owner(params: dict, contact):
    from smarketing.crm.services.common import assignable_users

    if contact.owner_id:
        owner = assignable_users().filter(pk=contact.owner_id).first()
        if owner is not None:
            return owner
    return _fallback_user(params)


@action("create_task", label="Create a task for the owner")
class CreateTask(Action):
    def validate(self, params: dict) -> dict:
        from smarketing.crm.models import Task
        from smarketing.crm.services.common import assignable_users

        params = dict(params or {})
        only(params, {"title", "kind", "due_in_days", "description", "fallback_owner"})
        kind = params.get("kind") or Task.Kind.TODO
        if kind not in Task.Kind.values:
            raise ValidationError({"kind": "Choose call, email or to-do."})
        fallback = integer(params, "fallback_owner", label="a user", required=False)
        if fallback is not None and not assignable_users().filter(pk=fallback).exists():
            raise ValidationError({"fallback_owner": "Choose an active user who can own tasks."})
        return {
            "title": text(params, "title", label="the task's title", max_length=200, required=True),
            "kind": kind,
            "due_in_days": integer(params, "due_in_days", label="the days", required=False, low=0, high=MAX_DAYS) or 0,
            "description": text(params, "description", label="the description", max_length=2000),
            "fallback_owner": fallback,
        }

    def describe(self, params: dict) -> str:
        days = params.get("due_in_days") or 0
        due = "today" if not days else f"in {days} day{'s' if days != 1 else ''}"
        return f"Create a task “{params.get('title', '')}” for the owner, due {due}"

    def run(self, ctx: StepContext) -> StepOutcome:
        from smarketing.crm.services.activities import create_task

        params = params_of(ctx)
        owner = _owner(params, ctx.contact)
        if owner is None:
            return StepOutcome(status="skipped", summary="No task: the contact has no owner")
        due = ctx.now + timedelta(days=params.get("due_in_days") or 0)
        task = create_task(
            actor=actor(),
            title=params["title"],
            kind=params.get("kind") or "todo",
            owner=owner,
            due_at=due,
            description=params.get("description", ""),
            contact=ctx.contact,
            origin=Origin.WORKFLOW,
        )
        return StepOutcome(summary=f"Task “{task.title}” for {owner}"[:500], result={"task": task.pk})

    def dry_run(self, ctx: StepContext) -> StepOutcome:
        params = params_of(ctx)
        owner = _owner(params, ctx.contact)
        if owner is None:
            return StepOutcome(status="skipped", summary="Would skip: the contact has no owner")
        return StepOutcome(summary=f"Would create the task “{params.get('title', '')}” for {owner}"[:500])
