"""Changing the tracking settings: the admin check, the audit entry, and this process's cached copy cleared."""

from django.db import transaction
from django.utils import timezone

from smarketing.core.audit import record_audit
from smarketing.core.models import Origin
from smarketing.forms.models import TrackingSettings
from smarketing.forms.tracking import access
from smarketing.forms.tracking.config import clear_settings_cache

FIELDS = ("enabled", "honour_dnt", "require_consent", "allowed_origins", "stitch_origins")


def update_settings(actor, data: dict, *, origin: str = Origin.UI) -> TrackingSettings:
    access.require_change_settings(actor)
    with transaction.atomic():
        row = TrackingSettings.objects.select_for_update().filter(pk=1).first() or TrackingSettings.load()
        changes = {
            name: (getattr(row, name), data[name])
            for name in FIELDS
            if name in data and getattr(row, name) != data[name]
        }
        if changes:
            for name, (_, new) in changes.items():
                setattr(row, name, new)
            row.updated_at = timezone.now()
            row.save()
            record_audit(actor=actor, action="update", obj=row, changes=changes, origin=origin)
        transaction.on_commit(clear_settings_cache)
    clear_settings_cache()
    return row
