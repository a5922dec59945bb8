"""add_to_list / remove_from_list: a static list of the segments app, through its services."""

from django.core.exceptions import ValidationError

from smarketing.core.models import Origin
from smarketing.workflows.actions import Action, StepContext, StepOutcome, action
from smarketing.workflows.actions.common import actor, integer, only, params_of, would


def _list(list_id):
    from smarketing.segments.models import ContactList

    return ContactList.objects.filter(pk=list_id).first()


def _name(params: dict) -> str:
    found = _list(params.get("list"))
    return f"“{found.name}”" if found else f"list {params.get('list')} (deleted)"


class _ListStep(Action):
    def validate(self, params: dict) -> dict:
        params = dict(params or {})
        only(params, {"list"})
        list_id = integer(params, "list", label="a static list")
        found = _list(list_id)
        if found is None or found.archived:
            raise ValidationError({"list": "Choose a static list."})
        return {"list": list_id}

    def dry_run(self, ctx: StepContext) -> StepOutcome:
        return StepOutcome(summary=would(self.describe(params_of(ctx))))


@action("add_to_list", label="Add to a static list")
class AddToList(_ListStep):
    def describe(self, params: dict) -> str:
        return f"Add to {_name(params)}"

    def run(self, ctx: StepContext) -> StepOutcome:
        from smarketing.segments import services

        contact_list = _list(params_of(ctx).get("list"))
        if contact_list is None:
            return StepOutcome(status="skipped", summary="The list was deleted")
        added = services.add_to_list(actor(), contact_list, [ctx.contact.pk], origin=Origin.WORKFLOW)
        summary = f"Added to “{contact_list.name}”" if added else f"Already on “{contact_list.name}”"
        return StepOutcome(summary=summary[:500], result={"list": contact_list.pk, "added": added})


@action("remove_from_list", label="Remove from a static list")
class RemoveFromList(_ListStep):
    def describe(self, params: dict) -> str:
        return f"Remove from {_name(params)}"

    def run(self, ctx: StepContext) -> StepOutcome:
        from smarketing.segments import services

        contact_list = _list(params_of(ctx).get("list"))
        if contact_list is None:
            return StepOutcome(status="skipped", summary="The list was deleted")
        removed = services.remove_from_list(actor(), contact_list, [ctx.contact.pk], origin=Origin.WORKFLOW)
        summary = f"Removed from “{contact_list.name}”" if removed else f"Was not on “{contact_list.name}”"
        return StepOutcome(summary=summary[:500], result={"list": contact_list.pk, "removed": removed})
