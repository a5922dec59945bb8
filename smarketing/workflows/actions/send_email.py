"""send_email: one marketing email through the email pillar, as a send of the step's automated campaign.

The step's campaign (workflows.StepEmail → email.EmailCampaign flagged automated) is made when the step is saved
in the builder (or on its first run). Each run queues one EmailSend keyed by the StepRun id, in the step's
transaction; the email pillar's sender delivers it exactly once after commit, re-checking suppression at send
time. A contact who unsubscribed, is on the suppression list or lacks the consent the step requires is SKIPPED
here with the reason: a workflow never emails them.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from smarketing.workflows.actions import Action, StepContext, StepOutcome, action
from smarketing.workflows.actions.common import actor, boolean, integer, only, params_of, text, would

REASONS = {
    "no_email": "the contact has no email address",
    "unsubscribed": "the contact unsubscribed",
    "no_consent": "the contact has not given marketing consent",
}


def _template(pk):
    from smarketing.email.models import EmailTemplate

    return EmailTemplate.objects.filter(pk=pk, archived=False).first() if pk else None


def _sender(pk):
    from smarketing.mail.models import SenderIdentity

    return SenderIdentity.objects.filter(pk=pk).first() if pk else None


def skip_reason(contact, *, requires_consent: bool) -> str:
    """Why this contact must not get the email now ("" when it may): the same rules as the sender's."""
    from smarketing.crm.models import ConsentStatus
    from smarketing.mail.models import SuppressionReason
    from smarketing.mail.suppression import suppressed

    if not contact.email:
        return REASONS["no_email"]
    if contact.consent_status == ConsentStatus.WITHDRAWN:
        return REASONS["unsubscribed"]
    if requires_consent and contact.consent_status != ConsentStatus.GRANTED:
        return REASONS["no_consent"]
    listed = suppressed([contact.email]).get(contact.email.strip().lower())
    if listed:
        return f"the address is suppressed ({dict(SuppressionReason.choices).get(listed, listed).lower()})"
    return ""


def campaign_name(workflow, step: dict) -> str:
    return f"Workflow “{workflow.name}”, step {step.get('id', '?')}"[:200]


def save_step_email(workflow, step: dict, *, by=None):
    """Create or update the automated campaign behind a send_email step; returns the EmailCampaign.

    Called by the builder when the step is saved (so an "if clicked" condition can name its campaign) and by
    run() when a step was created through the API and never saved in the builder.
    """
    from smarketing.email.automated import save_automated_campaign
    from smarketing.workflows.models import StepEmail

    params = step.get("params") or {}
    link = StepEmail.objects.select_related("email_campaign").filter(workflow=workflow, step_id=step["id"]).first()
    ec = save_automated_campaign(
        actor=by or actor(),
        name=campaign_name(workflow, step),
        template=_template(params.get("template")),
        sender=_sender(params.get("sender")),
        subject=params.get("subject", ""),
        requires_consent=params.get("requires_consent", True),
        email_campaign=link.email_campaign if link else None,
    )
    if link is None:
        try:
            with transaction.atomic():
                StepEmail.objects.create(workflow=workflow, step_id=step["id"], email_campaign=ec)
        except IntegrityError:  # another worker made it first: use theirs (ours stays an unused draft)
            link = StepEmail.objects.select_related("email_campaign").get(workflow=workflow, step_id=step["id"])
            return link.email_campaign
    return ec


def step_email(workflow, step_id: str):
    """The EmailCampaign of a send_email step, or None before it was saved."""
    from smarketing.workflows.models import StepEmail

    link = StepEmail.objects.select_related("email_campaign").filter(workflow=workflow, step_id=step_id).first()
    return link.email_campaign if link else None


@action("send_email", label="Send an email")
class SendEmail(Action):
    def validate(self, params: dict) -> dict:
        params = dict(params or {})
        only(params, {"template", "sender", "subject", "requires_consent"})
        template_id = integer(params, "template", label="the email to send (a template)")
        template = _template(template_id)
        if template is None:
            raise ValidationError({"template": "Choose the email to send (a template)."})
        sender_id = integer(params, "sender", label="who the email is from (a sender identity)")
        if _sender(sender_id) is None:
            raise ValidationError({"sender": "Choose who the email is from (a sender identity)."})
        subject = text(params, "subject", label="the subject", max_length=300)
        if not subject and not template.subject.strip():
            raise ValidationError({"subject": "Write a subject line (the template has none)."})
        if any(c in subject for c in "\r\n"):
            raise ValidationError({"subject": "The subject is one line."})
        return {
            "template": template_id,
            "sender": sender_id,
            "subject": subject,
            "requires_consent": boolean(params, "requires_consent", default=True),
        }

    def describe(self, params: dict) -> str:
        template = _template(params.get("template"))
        subject = params.get("subject") or (template.subject if template else "")
        return f"Send “{subject or (template.name if template else 'a deleted email')}”"

    def run(self, ctx: StepContext) -> StepOutcome:
        from smarketing.email.automated import queue_send

        params = params_of(ctx)
        reason = skip_reason(ctx.contact, requires_consent=params.get("requires_consent", True))
        if reason:
            return StepOutcome(status="skipped", summary=f"Not sent: {reason}"[:500], result={"reason": reason})
        ec = step_email(ctx.workflow, ctx.step["id"]) or save_step_email(ctx.workflow, ctx.step)
        send, _ = queue_send(ec, ctx.contact, step_run_id=ctx.step_run.pk, now=ctx.now)
        return StepOutcome(
            summary=f"Sent “{ec.subject}” to {ctx.contact.email}"[:500],
            result={"send": send.pk, "email_campaign": ec.pk, "campaign": ec.campaign_id},
        )

    def dry_run(self, ctx: StepContext) -> StepOutcome:
        params = params_of(ctx)
        reason = skip_reason(ctx.contact, requires_consent=params.get("requires_consent", True))
        if reason:
            return StepOutcome(status="skipped", summary=f"Would skip: {reason}"[:500])
        return StepOutcome(summary=would(f"{self.describe(params)} to {ctx.contact.email}")[:500])
