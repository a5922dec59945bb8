"""Email marketing: templates, campaigns (an email campaign is a `campaigns.Campaign` with its email parts),
one send per recipient, tracked links, the raw tracking hits, and the preference center's topics.

Sending is exactly once because every recipient has one `EmailSend` row (unique per campaign and contact),
claimed with a conditional UPDATE before the SMTP conversation and marked sent after it; see email/sending.py.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class EditorMode(models.TextChoices):
    BLOCKS = "blocks", "Blocks"
    HTML = "html", "Raw HTML"


class EmailTemplate(models.Model):
    """A reusable email: blocks a marketer arranges (rendered through MJML) or raw HTML for experts."""

    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=300, blank=True)
    preheader = models.CharField(max_length=300, blank=True)
    mode = models.CharField(max_length=10, choices=EditorMode.choices, default=EditorMode.BLOCKS)
    # [{"type": "heading"|"text"|"image"|"button"|"columns"|"divider"|"header"|"footer"|"signature", ...}]
    blocks = models.JSONField(default=list, blank=True)
    html = models.TextField(blank=True)  # raw HTML mode only
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Topic(models.Model):
    """A subject people can subscribe to or leave in the preference center ("Product news", "Events")."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Frequency(models.TextChoices):
    ALL = "all", "Every email"
    WEEKLY = "weekly", "At most one a week"
    MONTHLY = "monthly", "At most one a month"


class EmailPreference(models.Model):
    """A contact's choices in the preference center: how often, and which topics they left."""

    contact = models.OneToOneField("crm.Contact", on_delete=models.CASCADE, related_name="email_preference")
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.ALL)
    topics_left = models.ManyToManyField(Topic, blank=True, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Email preferences of contact {self.contact_id}"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    PAUSED = "paused", "Paused"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"


class ScheduleKind(models.TextChoices):
    NOW = "now", "Send now"
    AT = "at", "At a time"
    LOCAL = "local", "At a local time in each recipient's time zone"


class EmailCampaign(models.Model):
    """The email parts of a campaign: audience, content, sender, schedule, A/B test and sending state."""

    campaign = models.OneToOneField("campaigns.Campaign", on_delete=models.CASCADE, related_name="email")
    goal = models.CharField(max_length=300, blank=True)
    template = models.ForeignKey(EmailTemplate, null=True, blank=True, on_delete=models.SET_NULL)
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.SET_NULL)
    sender = models.ForeignKey("mail.SenderIdentity", null=True, blank=True, on_delete=models.PROTECT)
    # Audience: members of any included segment or list, minus members of any excluded one.
    include_segments = models.ManyToManyField("segments.Segment", blank=True, related_name="+")
    include_lists = models.ManyToManyField("segments.ContactList", blank=True, related_name="+")
    exclude_segments = models.ManyToManyField("segments.Segment", blank=True, related_name="+")
    exclude_lists = models.ManyToManyField("segments.ContactList", blank=True, related_name="+")
    # Marketing mail goes only to contacts whose consent is granted unless the campaign relies on another
    # legal basis (legitimate interest), in which case withdrawn consent still excludes them.
    requires_consent = models.BooleanField(default=True)

    # Content, frozen when sending starts (editing the template later does not change a running campaign).
    subject = models.CharField(max_length=300)
    subject_b = models.CharField(max_length=300, blank=True)  # A/B test of subjects when set
    preheader = models.CharField(max_length=300, blank=True)
    html = models.TextField(blank=True)  # compiled HTML with merge fields, frozen at send
    text = models.TextField(blank=True)  # its plain-text part, frozen at send

    schedule_kind = models.CharField(max_length=10, choices=ScheduleKind.choices, default=ScheduleKind.NOW)
    scheduled_at = models.DateTimeField(null=True, blank=True)  # AT: the moment; LOCAL: the day (date part)
    local_time = models.TimeField(null=True, blank=True)  # LOCAL: the wall-clock time in each time zone

    ab_test_percent = models.PositiveSmallIntegerField(default=0)  # of the audience, split between A and B
    ab_window_hours = models.PositiveSmallIntegerField(default=4)
    ab_metric = models.CharField(max_length=10, default="opens")  # opens or clicks
    ab_winner = models.CharField(max_length=1, blank=True)  # "a" or "b" once chosen

    status = models.CharField(max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    recipients_total = models.PositiveIntegerField(default=0)  # sends created when the audience was frozen
    # Kept by the senders once per batch (an F() increment), so lists show progress without counting sends.
    sent_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    suppressed_count = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # What followed a click or open counts in the report for this many days (leads, MQLs, SQLs, deals, revenue).
    report_window_days = models.PositiveSmallIntegerField(default=30)
    # A workflow's email step (workflows.StepEmail): always sending, one send per step run, never "finished".
    automated = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["status", "scheduled_at"], name="email_campaign_due_idx")]

    def __str__(self) -> str:
        return self.subject


class SendStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SUPPRESSED = "suppressed", "Suppressed"
    CANCELLED = "cancelled", "Cancelled"


class EmailSend(models.Model):
    """One recipient of one campaign: claimed, sent at most once, then the facts of what they did with it."""

    id = models.BigAutoField(primary_key=True)
    campaign = models.ForeignKey(EmailCampaign, on_delete=models.CASCADE, related_name="sends")
    contact = models.ForeignKey("crm.Contact", null=True, on_delete=models.SET_NULL, related_name="email_sends")
    email = models.EmailField()  # the address it went to (kept if the contact changes address)
    # Random, opaque, per recipient: the tracking and unsubscribe tokens sign it (email/tokens.py).
    token = models.CharField(max_length=32, unique=True)
    variant = models.CharField(max_length=1, blank=True)  # "a"/"b" in an A/B test; "" otherwise
    status = models.CharField(max_length=10, choices=SendStatus.choices, default=SendStatus.QUEUED)
    send_after = models.DateTimeField(null=True, blank=True)  # local-time schedules and the A/B remainder
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)  # worker id
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    suppressed_reason = models.CharField(max_length=30, blank=True)
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The workflows StepRun that queued it (an automated campaign): its idempotency key. A plain id, not a
    # foreign key, because email sits below workflows; a contact re-enrolled in a workflow gets a second send.
    step_run = models.BigIntegerField(null=True, blank=True, unique=True)

    # What happened next (machine opens/clicks are kept apart and never counted as human).
    first_opened_at = models.DateTimeField(null=True, blank=True)
    opens = models.PositiveIntegerField(default=0)
    machine_opens = models.PositiveIntegerField(default=0)
    first_clicked_at = models.DateTimeField(null=True, blank=True)
    clicks = models.PositiveIntegerField(default=0)
    machine_clicks = models.PositiveIntegerField(default=0)
    bounced_at = models.DateTimeField(null=True, blank=True)
    bounce_kind = models.CharField(max_length=20, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "contact"], condition=models.Q(step_run__isnull=True), name="email_send_unique"
            )
        ]
        indexes = [
            # The sender's claim: the next queued sends of a campaign that are due.
            models.Index(fields=["campaign", "status", "send_after", "id"], name="email_send_claim_idx"),
            models.Index(fields=["contact", "-id"], name="email_send_contact_idx"),
            # Sent but not yet recorded (touches, events): the rows of a batch in flight, or of a crashed worker.
            models.Index(
                fields=["campaign", "claimed_by"],
                condition=models.Q(status="sent") & ~models.Q(claimed_by=""),
                name="email_send_unrecorded_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_status_display()})"


class EmailLink(models.Model):
    """A link of a campaign's email, stored when sending starts: the click redirect goes only to these URLs."""

    campaign = models.ForeignKey(EmailCampaign, on_delete=models.CASCADE, related_name="links")
    position = models.PositiveSmallIntegerField()  # order in the email, from 1
    url = models.URLField(max_length=2000)  # the destination with the UTM parameters added
    label = models.CharField(max_length=300, blank=True)  # the link text, for the click map
    clicks = models.PositiveIntegerField(default=0)  # human clicks, kept by the hit processor
    machine_clicks = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "position"], name="email_link_unique")]

    def __str__(self) -> str:
        return self.url


class HitKind(models.TextChoices):
    OPEN = "open", "Open"
    CLICK = "click", "Click"


class TrackingHit(models.Model):
    """A pixel or click hit, as received: one narrow insert in the request, turned into counts and touchpoints by
    a job (email/tracking.py), so the pixel and the redirect answer before any heavy write and lose nothing."""

    id = models.BigAutoField(primary_key=True)
    send = models.ForeignKey(EmailSend, on_delete=models.CASCADE, db_index=False, related_name="+")
    kind = models.CharField(max_length=5, choices=HitKind.choices)
    link = models.ForeignKey(EmailLink, null=True, on_delete=models.CASCADE, db_index=False, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    user_agent = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    machine = models.BooleanField(default=False)  # decided when processed (MPP, scanners, prefetch)
    processed = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["id"], condition=models.Q(processed=False), name="tracking_hit_pending_idx"),
            models.Index(fields=["send", "at"], name="tracking_hit_send_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of send {self.send_id}"


class Brand(models.Model):
    """The company's look in every marketing email: the header (logo, name) and the footer (postal address).

    One row (pk=1); `Brand.current()` returns it, or unsaved defaults before anyone filled the settings in.
    """

    company_name = models.CharField(max_length=200, blank=True)
    logo_url = models.URLField(max_length=500, blank=True)
    website_url = models.URLField(max_length=500, blank=True)
    # The bulk-sender rules and CAN-SPAM want a physical postal address in every marketing email.
    postal_address = models.TextField(blank=True)
    primary_color = models.CharField(max_length=7, default="#2563eb")  # buttons, links
    text_color = models.CharField(max_length=7, default="#1f2937")
    background_color = models.CharField(max_length=7, default="#f3f4f6")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.company_name or "Brand"

    @classmethod
    def current(cls) -> "Brand":
        return cls.objects.filter(pk=1).first() or cls(pk=1)
