"""notify_user: tell a colleague (a named user, or the contact's owner) in the app, by email if they want."""

from django.core.exceptions import ValidationError

from smarketing.workflows.actions import Action, StepContext, StepOutcome, action
from smarketing.workflows.actions.common import actor, integer, only, params_of, text

OWNER = "owner"


def _recipient(params: dict, contact):
    from smarketing.accounts.models import User

    user_id = contact.owner_id if params.get("user") == OWNER else params.get("user")
    return User.objects.filter(pk=user_id, is_active=True).first() if user_id else None


@action("notify_user", label="Notify a user")
class NotifyUser(Action):
    def validate(self, params: dict) -> dict:
        from smarketing.accounts.models import User

        params = dict(params or {})
        only(params, {"user", "title", "body"})
        user = params.get("user")
        if user != OWNER:
            user = integer(params, "user", label="who to notify")
            if not User.objects.filter(pk=user, is_active=True).exists():
                raise ValidationError({"user": "Choose an active user, or the contact's owner."})
        return {
            "user": user,
            "title": text(params, "title", label="the message", max_length=200, required=True),
            "body": text(params, "body", label="the details", max_length=1000),
        }

    def describe(self, params: dict) -> str:
        from smarketing.accounts.models import User

        if params.get("user") == OWNER:
            who = "the contact's owner"
        else:
            who = str(User.objects.filter(pk=params.get("user")).first() or "a deleted user")
        return f"Notify {who}: “{params.get('title', '')}”"

    def run(self, ctx: StepContext) -> StepOutcome:
        from smarketing.notifications.services import notify
        from smarketing.workflows.kinds import NOTIFY_WORKFLOW

        params = params_of(ctx)
        user = _recipient(params, ctx.contact)
        if user is None:
            return StepOutcome(status="skipped", summary="Nobody to notify (no owner, or the user left)")
        name = " ".join(f"{ctx.contact.first_name} {ctx.contact.last_name}".split()) or ctx.contact.email
        note = notify(
            user,
            kind=NOTIFY_WORKFLOW,
            title=f"{params['title']} — {name}"[:200],
            body=params.get("body", ""),
            url=f"/contacts/{ctx.contact.pk}/",
            actor=actor(),
            about=ctx.contact,
        )
        if note is None:
            return StepOutcome(status="skipped", summary=f"{user} cannot be notified")
        return StepOutcome(summary=f"Notified {user}"[:500], result={"notification": note.pk, "user": user.pk})

    def dry_run(self, ctx: StepContext) -> StepOutcome:
        user = _recipient(params_of(ctx), ctx.contact)
        if user is None:
            return StepOutcome(status="skipped", summary="Would skip: nobody to notify")
        return StepOutcome(summary=f"Would notify {user}: “{params_of(ctx).get('title', '')}”"[:500])
