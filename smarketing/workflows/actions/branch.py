"""The `if` flow step: continue on the yes or the no branch, by a condition evaluated for the contact now.

    {"condition": <segments definition>,                      (the one condition engine; empty = true)
     "email": {"step": "s1a2b3c4", "event": "opened" | "clicked"} | null}

Both parts must hold for "yes". The email part asks about the email a `send_email` step of this workflow sent
to this enrollment: the StepRun's result names the send ("send_id"), and the send's first open / first click
says it. A click counts as an open (a client that blocks images still clicks).
"""

from django.core.exceptions import ValidationError

from smarketing.workflows.actions import Action, StepContext, StepOutcome, action

EVENTS = {"opened": "opened", "clicked": "clicked a link in"}


def engaged(enrollment_ids: list[int], step_id: str, event: str) -> set[int]:
    """The enrollments (of `enrollment_ids`) whose email of step `step_id` was opened / clicked: two queries."""
    from smarketing.email.models import EmailSend
    from smarketing.workflows.models import StepRun

    sends = {}
    for enrollment_id, result in StepRun.objects.filter(enrollment_id__in=enrollment_ids, step_id=step_id).values_list(
        "enrollment_id", "result"
    ):
        send = (result or {}).get("send_id") or (result or {}).get("send")
        if isinstance(send, int):
            sends[send] = enrollment_id
    if not sends:
        return set()
    rows = EmailSend.objects.filter(pk__in=sends, first_clicked_at__isnull=False)
    if event == "opened":
        rows = EmailSend.objects.filter(pk__in=sends).exclude(
            first_opened_at__isnull=True, first_clicked_at__isnull=True
        )
    return {sends[pk] for pk in rows.values_list("pk", flat=True)}


@action("if", label="If / else")
class Branch(Action):
    def validate(self, params: dict) -> dict:
        from smarketing.segments import schema

        condition = schema.validate_definition(params.get("condition") or schema.empty_definition())
        email = params.get("email")
        clean_email = None
        if email:
            if not isinstance(email, dict) or not isinstance(email.get("step"), str) or not email["step"]:
                raise ValidationError("Choose the email step.")
            if email.get("event", "opened") not in EVENTS:
                raise ValidationError("Choose 'opened' or 'clicked'.")
            clean_email = {"step": email["step"], "event": email.get("event", "opened")}
        if not condition["rules"] and clean_email is None:
            raise ValidationError("Add a condition.")
        return {"condition": condition, "email": clean_email}

    def decide(self, ctxs: list[StepContext]) -> list[StepOutcome]:
        """One query for the condition and two for the email part, for a whole batch at the same step."""
        from smarketing.segments.queries import matching

        params = ctxs[0].step["params"]
        ids = [ctx.contact.pk for ctx in ctxs]
        yes = set(ids)
        if params["condition"]["rules"]:
            yes = set(
                matching(params["condition"], now=ctxs[0].now, validate=False)
                .filter(pk__in=ids)
                .values_list("pk", flat=True)
            )
        email_yes = None
        if params.get("email"):
            email_yes = engaged([ctx.enrollment.pk for ctx in ctxs], params["email"]["step"], params["email"]["event"])
        outcomes = []
        for ctx in ctxs:
            ok = ctx.contact.pk in yes and (email_yes is None or ctx.enrollment.pk in email_yes)
            branch = "yes" if ok else "no"
            outcomes.append(
                StepOutcome(
                    summary=f"Condition {'met' if ok else 'not met'}: {branch}",
                    branch=branch,
                    result={"branch": branch},
                )
            )
        return outcomes

    def run(self, ctx: StepContext) -> StepOutcome:
        return self.decide([ctx])[0]

    def run_batch(self, ctxs: list[StepContext]) -> list[StepOutcome]:
        return self.decide(ctxs)

    def dry_run(self, ctx: StepContext) -> StepOutcome:
        # A dry run has no enrollment and sent no email, so an "opened/clicked" part is not met (yet).
        outcome = self.decide([ctx])[0]
        outcome.summary = f"Would take the {outcome.branch} branch: {self.describe(ctx.step['params']).lower()}"
        return outcome

    def describe(self, params: dict, definition: dict | None = None) -> str:
        """One line for the builder; with the workflow's definition, an email condition names the email."""
        from smarketing.workflows import definition as wfdef
        from smarketing.workflows.actions import get

        parts = []
        if (params.get("condition") or {}).get("rules"):
            parts.append("the contact matches the condition")
        if params.get("email"):
            email = params["email"]
            step = wfdef.find_step(definition, email["step"]) if definition else None
            if step is not None and step.get("type") == "send_email":
                sent = get("send_email").describe(step.get("params") or {}).removeprefix("Send ")
                parts.append(f"the email {sent} was {email['event']}")
            else:
                parts.append(f"the email of step {email['step']} was {email['event']}")
        return "If " + " and ".join(parts or ["always"])
