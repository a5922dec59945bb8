from django.conf import settings
from django.db import models
from django.utils import timezone


class ErasureRecord(models.Model):
    """The record of one erasure request: which contact id, when, by whom, why. Holds no personal data."""

    # A plain id, not a foreign key: the record must outlive the contact row if it is deleted later, and it
    # must not cascade anywhere. Unique, so a contact is erased once; a second request is a no-op.
    contact_id = models.PositiveBigIntegerField(unique=True)
    erased_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.CharField(max_length=500)
    # How many rows each scrubber changed, e.g. {"scrub_timeline": 120, "scrub_notes": 2}: evidence that
    # the erasure ran everywhere, without any of the erased values.
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-erased_at", "-id"], name="erasure_recent_idx")]

    def __str__(self) -> str:
        return f"Erasure of contact #{self.contact_id}"
