"""Shared pieces of the campaign tests: a template, a sender, an audience, a ready campaign."""

from smarketing.accounts.access import system_actor
from smarketing.crm.models import ConsentStatus
from smarketing.email import services
from smarketing.email.blocks import default_blocks
from smarketing.email.models import EmailTemplate
from smarketing.mail.models import SenderIdentity
from smarketing.segments import services as segments
from smarketing.testing import make_contact


def make_template(**extra) -> EmailTemplate:
    blocks = default_blocks()
    blocks[2]["html"] = (
        '<p>Hi {{ contact.first_name|default:"there" }}, read <a href="https://acme.example/post">the post</a>.</p>'
    )
    blocks[3]["href"] = "https://acme.example/offer?a=1"
    extra.setdefault("name", "Newsletter")
    extra.setdefault("subject", 'News for {{ contact.first_name|default:"you" }}')
    return EmailTemplate.objects.create(mode="blocks", blocks=blocks, **extra)


def make_sender(**extra) -> SenderIdentity:
    extra.setdefault("name", "Acme news")
    extra.setdefault("from_name", "Acme News")
    extra.setdefault("from_email", "news@acme.example")
    extra.setdefault("reply_to", "hello@acme.example")
    extra.setdefault("per_second", 10_000)
    extra.setdefault("per_hour", 10_000_000)
    return SenderIdentity.objects.create(**extra)


def make_audience(n: int, *, name="Audience", consent=ConsentStatus.GRANTED, prefix="r"):
    """A static list of n contacts who consented; returns (list, contacts)."""
    actor = system_actor()
    contacts = [
        make_contact(email=f"{prefix}{i}@inbox.example", first_name=f"R{i}", consent_status=consent) for i in range(n)
    ]
    contact_list = segments.create_list(actor, name=name)
    segments.add_to_list(actor, contact_list, [c.pk for c in contacts])
    return contact_list, contacts


def make_campaign(owner, contact_list, *, name="Spring news", **fields):
    fields.setdefault("template", make_template())
    fields.setdefault("sender", make_sender())
    return services.create_campaign(owner, name=name, include_lists=[contact_list], **fields)
