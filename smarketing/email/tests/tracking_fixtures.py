"""A campaign with sent mail, for the tracking, unsubscribe and preference tests (written as the sender would)."""

from django.utils import timezone

from smarketing.campaigns.models import Campaign, Channel
from smarketing.email import tokens
from smarketing.email.models import EmailCampaign, EmailLink, EmailSend, SendStatus
from smarketing.testing import make_contact


def make_email_campaign(name="Spring launch", *, utm_campaign="", subject="Our spring launch") -> EmailCampaign:
    campaign = Campaign.objects.create(name=name, channel=Channel.EMAIL, utm_campaign=utm_campaign)
    return EmailCampaign.objects.create(campaign=campaign, subject=subject, status="sending")


def make_send(email_campaign, contact=None, *, sent_at=None, token=None, **contact_data) -> EmailSend:
    contact = contact or make_contact(**contact_data)
    return EmailSend.objects.create(
        campaign=email_campaign,
        contact=contact,
        email=contact.email,
        token=token or tokens.new_send_token(),
        status=SendStatus.SENT,
        sent_at=sent_at or timezone.now() - timezone.timedelta(hours=1),
        message_id=f"<{contact.pk}.{email_campaign.pk}@mail.example>",
    )


def make_link(email_campaign, position=1, url="https://example.com/spring?utm_source=smarketing") -> EmailLink:
    return EmailLink.objects.create(campaign=email_campaign, position=position, url=url, label=f"Link {position}")
