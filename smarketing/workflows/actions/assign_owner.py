"""assign_owner: give the contact an owner, round robin in a team or by rules ("if Country is DE → Jonas"), chosen
by process.routing (the one routing implementation, shared with the handoff) and set through crm's assign_owner
service."""

from django.core.exceptions import ValidationError

from smarketing.core.models import Origin
from smarketing.process import routing
from smarketing.workflows.actions import Action, StepContext, StepOutcome, action
from smarketing.workflows.actions.common import actor, boolean, integer, only, params_of

RULE_FIELDS = routing.RULE_FIELDS  # the builder's choices


@action("assign_owner", label="Assign an owner")
class AssignOwner(Action):
    def validate(self, params: dict) -> dict:
        from smarketing.accounts.models import Team

        params = dict(params or {})
        only(params, {"mode", "team", "rules", "fallback_team", "only_unowned"})
        mode = params.get("mode") or "round_robin"
        clean = {"mode": mode, "only_unowned": boolean(params, "only_unowned")}
        if mode == "round_robin":
            team_id = integer(params, "team", label="a team")
            if not Team.objects.filter(pk=team_id).exists():
                raise ValidationError({"team": "Choose a team."})
            clean["team"] = team_id
        elif mode == "rules":
            clean["rules"] = routing.clean_rules(params.get("rules") or [])
            fallback = integer(params, "fallback_team", label="a team", required=False)
            if fallback is not None and not Team.objects.filter(pk=fallback).exists():
                raise ValidationError({"fallback_team": "Choose a team."})
            clean["fallback_team"] = fallback
        else:
            raise ValidationError({"mode": "Choose round robin or rules."})
        return clean

    def describe(self, params: dict) -> str:
        from smarketing.accounts.models import Team

        if params.get("mode") == "rules":
            n = len(params.get("rules") or [])
            return f"Assign an owner by {n} rule{'s' if n != 1 else ''}"
        team = Team.objects.filter(pk=params.get("team")).first()
        return f"Assign an owner, round robin in {team.name if team else 'a deleted team'}"

    def choose(self, params: dict, contact, *, dry: bool = False):
        """(user or None, how it was chosen), by process.routing (the handoff's routing too)."""
        rules = params.get("mode") == "rules"
        chosen = routing.route(
            contact,
            team_id=params.get("fallback_team") if rules else params.get("team"),
            mode="rules" if rules else "round_robin",
            rules=params.get("rules") or [],
            dry=dry,
        )
        return chosen.user, chosen.how

    def run(self, ctx: StepContext) -> StepOutcome:
        from smarketing.crm.models import Contact
        from smarketing.crm.services.records import assign_owner

        params = params_of(ctx)
        if params.get("only_unowned") and ctx.contact.owner_id:
            return StepOutcome(status="skipped", summary="The contact already has an owner")
        user, how = self.choose(params, ctx.contact)
        if user is None:
            return StepOutcome(status="skipped", summary=f"Nobody to assign ({how})"[:500])
        assign_owner(Contact.objects.filter(pk=ctx.contact.pk), owner=user, actor=actor(), origin=Origin.WORKFLOW)
        ctx.contact.owner_id = user.pk
        return StepOutcome(summary=f"Assigned to {user} ({how})"[:500], result={"owner": user.pk})

    def dry_run(self, ctx: StepContext) -> StepOutcome:
        params = params_of(ctx)
        if params.get("only_unowned") and ctx.contact.owner_id:
            return StepOutcome(status="skipped", summary="Would skip: the contact already has an owner")
        user, how = self.choose(params, ctx.contact, dry=True)
        if user is None:
            return StepOutcome(status="skipped", summary=f"Would skip: nobody to assign ({how})"[:500])
        return StepOutcome(summary=f"Would assign to {user} ({how})"[:500])
