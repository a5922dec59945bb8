"""Automated campaigns: the email a workflow's send_email step sends, one message per step run.

An automated campaign is an ordinary `EmailCampaign` (flagged `automated`) whose content is frozen like any
campaign's and which stays 'sending' while its workflow lives; it has no audience of its own. Each step run
adds one queued `EmailSend` keyed by the StepRun id (unique), in the step's transaction, and wakes a sender after
commit. So the sender's exactly-once claim loop, its suppression at send time (consent, unsubscribes, bounces,
topics, frequency caps), the tracking links, the one-click unsubscribe and the campaign report all apply
unchanged.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from smarketing.campaigns.models import Campaign, Channel
from smarketing.core.audit import record_audit
from smarketing.core.models import Origin
from smarketing.email.models import CampaignStatus, EmailCampaign, EmailSend, SendStatus
from smarketing.email.services import _unique_utm


def _freeze(ec: EmailCampaign) -> None:
    from smarketing.email import audience

    audience.freeze_content(ec)
    EmailCampaign.objects.filter(pk=ec.pk).update(html=ec.html, text=ec.text, updated_at=timezone.now())


@transaction.atomic
def save_automated_campaign(
    *,
    actor,
    name: str,
    template,
    sender,
    subject: str = "",
    requires_consent: bool = True,
    topic=None,
    email_campaign: EmailCampaign | None = None,
    origin: str = Origin.WORKFLOW,
) -> EmailCampaign:
    """Create (or bring up to date) the automated campaign of a workflow step, its content frozen now.

    Editing the step later re-freezes the content: messages already sent keep their links (freeze_links never
    renumbers a position that may be in sent mail).
    """
    if template is None:
        raise ValidationError({"template": "Pick the email to send (a template)."})
    if sender is None:
        raise ValidationError({"sender": "Choose who the email is from (a sender identity)."})
    subject = (subject or template.subject or "").strip()[:300]
    if not subject:
        raise ValidationError({"subject": "Write a subject line (the template has none)."})
    from smarketing.core.audit import actor_user

    if email_campaign is None:
        owner = actor_user(actor)
        campaign = Campaign.objects.create(
            name=name[:200],
            channel=Channel.EMAIL,
            owner=owner,
            owner_team=getattr(owner, "team", None),
            utm_campaign=_unique_utm(name),
            starts_at=timezone.now(),
        )
        ec = EmailCampaign.objects.create(
            campaign=campaign,
            automated=True,
            status=CampaignStatus.SENDING,
            started_at=timezone.now(),
            template=template,
            sender=sender,
            subject=subject,
            preheader=template.preheader,
            requires_consent=requires_consent,
            topic=topic,
            goal="Sent by a workflow step",
        )
        record_audit(actor=actor, action="create", obj=ec, origin=origin, object_repr=name)
    else:
        ec = EmailCampaign.objects.select_for_update().get(pk=email_campaign.pk)
        ec.template, ec.sender, ec.subject, ec.topic = template, sender, subject, topic
        ec.preheader = template.preheader
        ec.requires_consent = requires_consent
        ec.save(update_fields=["template", "sender", "subject", "topic", "preheader", "requires_consent"])
        if ec.campaign.name != name[:200]:
            Campaign.objects.filter(pk=ec.campaign_id).update(name=name[:200])
    _freeze(ec)
    return ec


def queue_send(ec: EmailCampaign, contact, *, step_run_id: int, now=None) -> tuple[EmailSend, bool]:
    """One queued send of an automated campaign for `contact`, keyed by the step run; (send, created).

    Call it inside the step's transaction: the send row commits with the StepRun (both or neither), and the
    sender is woken after commit. A second call for the same step run returns the first send.
    """
    from smarketing.email import tasks
    from smarketing.email.tokens import new_send_token

    existing = EmailSend.objects.filter(step_run=step_run_id).first()
    if existing is not None:
        return existing, False
    now = now or timezone.now()
    try:
        with transaction.atomic():
            send = EmailSend.objects.create(
                campaign=ec,
                contact=contact,
                email=contact.email,
                token=new_send_token(),
                status=SendStatus.QUEUED,
                send_after=now,
                step_run=step_run_id,
            )
    except IntegrityError:  # a racing runner queued it first
        return EmailSend.objects.get(step_run=step_run_id), False
    EmailCampaign.objects.filter(pk=ec.pk).update(recipients_total=F("recipients_total") + 1)
    transaction.on_commit(lambda: tasks.wake_senders(ec.pk, count=1))
    return send, True
