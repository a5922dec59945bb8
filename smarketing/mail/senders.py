"""Sender identities: who marketing mail is from and how fast it may leave under that name (admins only).

One identity is the default (the campaign wizard preselects it); making another the default unsets the old one
in the same transaction, so there is never more than one.
"""

from django.db import transaction

from smarketing.core.audit import record_audit
from smarketing.core.models import Origin
from smarketing.mail import access
from smarketing.mail.models import SenderIdentity

FIELDS = ("name", "from_name", "from_email", "reply_to", "per_second", "per_hour", "is_default")


def default_sender() -> SenderIdentity | None:
    return SenderIdentity.objects.filter(is_default=True).order_by("id").first()


def create_sender(actor, data: dict, origin: str = Origin.UI) -> SenderIdentity:
    access.require_manage_senders(actor)
    with transaction.atomic():
        # The first identity becomes the default: a campaign always has one to start from.
        is_default = bool(data.get("is_default")) or not SenderIdentity.objects.exists()
        if is_default:
            SenderIdentity.objects.filter(is_default=True).update(is_default=False)
        sender = SenderIdentity.objects.create(
            **{**{k: data[k] for k in FIELDS if k in data}, "is_default": is_default}
        )
        record_audit(
            actor=actor,
            action="create",
            obj=sender,
            origin=origin,
            changes={k: [None, getattr(sender, k)] for k in FIELDS},
        )
    return sender


def update_sender(actor, sender: SenderIdentity, data: dict, origin: str = Origin.UI) -> SenderIdentity:
    access.require_manage_senders(actor)
    with transaction.atomic():
        sender = SenderIdentity.objects.select_for_update().get(pk=sender.pk)
        changes = {}
        for key in FIELDS:
            if key in data and data[key] != getattr(sender, key):
                changes[key] = [getattr(sender, key), data[key]]
                setattr(sender, key, data[key])
        if (
            changes.get("is_default") == [True, False]
            and not SenderIdentity.objects.exclude(pk=sender.pk).filter(is_default=True).exists()
        ):
            # Unticking the only default would leave none; keep it (the page says to pick another instead).
            sender.is_default = True
            del changes["is_default"]
        if sender.is_default and "is_default" in changes:
            SenderIdentity.objects.exclude(pk=sender.pk).filter(is_default=True).update(is_default=False)
        if changes:
            sender.save()
            record_audit(actor=actor, action="update", obj=sender, origin=origin, changes=changes)
    return sender
