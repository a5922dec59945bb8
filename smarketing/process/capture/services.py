"""Capturing one parsed message for one user: who it concerns, whether to log it, and the writes.

Rules, in order: mail among colleagues only (every address at a user's domain, INTERNAL_EMAIL_DOMAINS or the
logging domain) is never logged; the others are matched to contacts by address (From, To, Cc); an address with
no contact creates none unless the user asked for it; a message is captured once per user (the unique
Message-ID), however often it is BCC'd or synced. A message the user (or a colleague) sent is a "sales email
sent" and stops the SLA clock of the contacts' open handoffs; a contact's message is a "sales email received",
linked to the marketing campaign it answers when its In-Reply-To or References name one of our sends.
"""

import secrets
import string
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from smarketing.accounts.access import system_actor
from smarketing.accounts.models import User
from smarketing.core.models import Origin
from smarketing.process import kinds
from smarketing.process.capture.parse import Parsed
from smarketing.process.models import CapturedEmail, Handoff, HandoffStatus, MailCapture
from smarketing.timeline.models import Team
from smarketing.timeline.services import record_touches

TOKEN_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class Outcome:
    captured: CapturedEmail | None
    reason: str  # why nothing was captured, or "captured"


def settings_for(user) -> MailCapture:
    found = MailCapture.objects.filter(user=user).first()
    if found is not None:
        return found
    token = "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(16))
    found, _ = MailCapture.objects.get_or_create(user=user, defaults={"bcc_token": token})
    return found


def bcc_address(capture: MailCapture) -> str:
    return f"log+{capture.bcc_token}@{settings.MAILIN_DOMAIN}"


def owner_of_address(address: str) -> MailCapture | None:
    """The capture settings a BCC logging address belongs to (an active user's), or None."""
    local, _, domain = address.lower().partition("@")
    if domain != settings.MAILIN_DOMAIN or not local.startswith("log+"):
        return None
    token = local[4:]
    if not token or len(token) > 24 or set(token) - set(TOKEN_ALPHABET):
        return None
    return MailCapture.objects.select_related("user").filter(bcc_token=token, user__is_active=True).first()


def internal_domains() -> set[str]:
    domains = {
        e.rsplit("@", 1)[-1].lower() for e in User.objects.filter(is_active=True).values_list("email", flat=True)
    }
    return domains | set(settings.INTERNAL_EMAIL_DOMAINS) | {settings.MAILIN_DOMAIN}


def _campaign_answered(parsed: Parsed) -> int | None:
    from smarketing.email.models import EmailSend

    ids = [i for i in [parsed.in_reply_to, *parsed.references] if i][:50]
    if not ids:
        return None
    return EmailSend.objects.filter(message_id__in=ids).values_list("campaign__campaign_id", flat=True).first()


def capture(parsed: Parsed, *, user, via: str) -> Outcome:
    """Log `parsed` for `user` on the timelines of the contacts it concerns (see the module's rules)."""
    from smarketing.crm.models import Contact

    internal = internal_domains()
    outside = [a for a in parsed.participants if a.rsplit("@", 1)[-1] not in internal]
    if not outside:
        return Outcome(None, "colleagues only")
    sent = parsed.sender.rsplit("@", 1)[-1] in internal
    options = settings_for(user)
    contacts = list(Contact.objects.filter(email__in=outside).select_related("company"))
    if options.create_contacts:
        known = {c.email for c in contacts}
        from smarketing.crm.services.records import create_contact

        for address in outside:
            if address not in known:
                contacts.append(
                    create_contact(
                        actor=system_actor(Origin.SYSTEM, on_behalf_of=user),
                        data={"email": address, "first_source": "sales_email"[:50]},
                        origin=Origin.SYSTEM,
                    )
                )
    if not contacts:
        return Outcome(None, "no contact has these addresses")
    now = timezone.now()
    when = min(parsed.sent_at or now, now)
    campaign_id = None if sent else _campaign_answered(parsed)
    try:
        with transaction.atomic():
            row = CapturedEmail.objects.create(
                user=user,
                via=via,
                message_id=parsed.message_id,
                direction="sent" if sent else "received",
                subject=parsed.subject,
                thread=parsed.thread,
                sent_at=when,
                contacts=len(contacts),
                campaign_id=campaign_id,
            )
            details = {
                "subject": parsed.subject,
                "body": parsed.text,
                "from": parsed.sender,
                "to": parsed.to,
                "cc": parsed.cc,
                "thread": parsed.thread,
                "via": via,
                "captured_id": row.pk,
            }
            kind = kinds.SALES_EMAIL_SENT if sent else kinds.SALES_EMAIL_RECEIVED
            summary = (
                f"Email: {parsed.subject or '(no subject)'}"
                if sent
                else (f"Email from {parsed.sender}: {parsed.subject or '(no subject)'}")
            )
            record_touches(
                [
                    {
                        "kind": kind,
                        "team": Team.SALES,
                        "contact": contact,
                        "actor": user,
                        "campaign": campaign_id,
                        "occurred_at": when,
                        "summary": summary[:300],
                        "details": details,
                    }
                    for contact in contacts
                ]
            )
            if sent:
                from smarketing.process import sla

                open_ids = list(
                    Handoff.objects.filter(
                        contact_id__in=[c.pk for c in contacts], status=HandoffStatus.OPEN
                    ).values_list("id", flat=True)
                )
                if open_ids:
                    sla.fill_first_touches(ids=open_ids)
    except IntegrityError:
        return Outcome(None, "captured already")
    return Outcome(row, "captured")
