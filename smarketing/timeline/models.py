from django.conf import settings
from django.db import models
from django.utils import timezone


class Team(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    SALES = "sales", "Sales"
    SYSTEM = "system", "System"


class Kind(models.TextChoices):
    """Every kind of touch. Later features add kinds here; the table itself never changes shape."""

    # System: facts about the records themselves
    CONTACT_CREATED = "contact_created", "Contact created"
    LIFECYCLE_CHANGED = "lifecycle_changed", "Lifecycle stage changed"
    OWNER_CHANGED = "owner_changed", "Owner changed"
    DEAL_CREATED = "deal_created", "Deal created"
    DEAL_STAGE_CHANGED = "deal_stage_changed", "Deal stage changed"
    DEAL_WON = "deal_won", "Deal won"
    DEAL_LOST = "deal_lost", "Deal lost"
    MERGED = "merged", "Records merged"
    # Sales touches
    CALL_LOGGED = "call_logged", "Call"
    EMAIL_LOGGED = "email_logged", "Sales email"
    MEETING_LOGGED = "meeting_logged", "Meeting"
    NOTE_ADDED = "note_added", "Note"
    TASK_CREATED = "task_created", "Task created"
    TASK_COMPLETED = "task_completed", "Task completed"
    OFFER_PITCHED = "offer_pitched", "Offer pitched"
    MEETING_BOOKED = "meeting_booked", "Meeting booked"
    # Marketing touches
    EMAIL_SENT = "email_sent", "Marketing email sent"
    EMAIL_OPENED = "email_opened", "Email opened"
    EMAIL_CLICKED = "email_clicked", "Email link clicked"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    FORM_SUBMITTED = "form_submitted", "Form submitted"
    PAGE_VIEWED = "page_viewed", "Page viewed"
    WEBINAR_ATTENDED = "webinar_attended", "Webinar attended"
    EVENT_ATTENDED = "event_attended", "Event attended"
    CONTENT_VIEWED = "content_viewed", "Content viewed"
    AD_CLICKED = "ad_clicked", "Ad clicked"


class Touchpoint(models.Model):
    """One touch in the customer journey. Append-only: written by timeline.services.record_touch only."""

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    contact = models.ForeignKey(
        "crm.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="touchpoints",
        db_index=False,
    )
    company = models.ForeignKey(
        "crm.Company",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="touchpoints",
        db_index=False,
    )
    deal = models.ForeignKey(
        "crm.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="touchpoints", db_index=False
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    team = models.CharField(max_length=10, choices=Team.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    campaign = models.ForeignKey("campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, db_index=False)
    source = models.CharField(max_length=50, blank=True)  # channel or utm_source
    summary = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        # The composite indexes serve the FK lookups too, so the FKs carry no single-column index:
        # at tens of millions of rows every index costs insert time and disk.
        indexes = [
            models.Index(fields=["contact", "-occurred_at", "-id"], name="touch_contact_idx"),
            models.Index(fields=["company", "-occurred_at", "-id"], name="touch_company_idx"),
            models.Index(fields=["deal", "-occurred_at", "-id"], name="touch_deal_idx"),
            models.Index(fields=["kind", "occurred_at"], name="touch_kind_time_idx"),
            models.Index(fields=["campaign", "occurred_at"], name="touch_campaign_idx"),
        ]

    def __str__(self) -> str:
        return self.summary
