"""The one sender: sender identities with their throttles, the global suppression list, feedback (bounces and
complaints) received, transactional messages, and the demo's captured mail.

`mail` knows addresses and messages, not campaigns: the email app (a floor up) registers a feedback handler
(`mail.feedback`) to tie a bounce or complaint to the send it answers.
"""

from django.db import models
from django.utils import timezone


class Stream(models.TextChoices):
    """Marketing mail obeys suppression and consent; transactional mail (bookings, notifications, double opt-in,
    password resets) does not, and is never counted in campaign figures."""

    MARKETING = "marketing", "Marketing"
    TRANSACTIONAL = "transactional", "Transactional"


class SenderIdentity(models.Model):
    """Who a message is from (name, address, reply-to) and how fast mail may leave under that name."""

    name = models.CharField(max_length=100)  # how people pick it: "Maya at Acme (newsletter)"
    from_name = models.CharField(max_length=100)
    from_email = models.EmailField()
    reply_to = models.EmailField(blank=True)
    per_second = models.PositiveIntegerField(default=50)
    per_hour = models.PositiveIntegerField(default=100_000)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "sender identities"

    def __str__(self) -> str:
        return f"{self.from_name} <{self.from_email}>"


class SuppressionReason(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    HARD_BOUNCE = "hard_bounce", "Hard bounce"
    SOFT_BOUNCES = "soft_bounces", "Repeated soft bounces"
    COMPLAINT = "complaint", "Spam complaint"
    MANUAL = "manual", "Added by hand"


class Suppression(models.Model):
    """An address marketing mail must not go to, whatever the contact record says (global suppression list)."""

    email = models.EmailField(unique=True)  # normalized: stripped and lowercased
    reason = models.CharField(max_length=20, choices=SuppressionReason.choices)
    source = models.CharField(max_length=200, blank=True)  # "Bounce notice 42", "Imported from HubSpot", ...
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # The suppression page lists newest first, keyset paged (mail 0002).
        indexes = [models.Index(fields=["-created_at", "-id"], name="suppression_newest_idx")]

    def __str__(self) -> str:
        return self.email


class FeedbackKind(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", "Hard bounce"
    SOFT_BOUNCE = "soft_bounce", "Soft bounce"
    COMPLAINT = "complaint", "Spam complaint"


class FeedbackNotice(models.Model):
    """One bounce or complaint notification received (signed JSON endpoint or a parsed DSN), kept as evidence."""

    kind = models.CharField(max_length=20, choices=FeedbackKind.choices)
    email = models.EmailField()
    # The Message-ID of the message it answers, when the notice carries it (how it is tied to a send).
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    # The notifier's own id for the notice: a notice delivered twice is recorded once.
    notice_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    diagnostic = models.TextField(blank=True)  # "550 5.1.1 user unknown"
    channel = models.CharField(max_length=20, blank=True)  # "webhook", "dsn"
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["email", "-received_at"], name="feedback_email_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.email}"


class TransactionalMessage(models.Model):
    """One message on the transactional stream, sent by a retrying job and claimed once (never sent twice)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=50)  # "notification", "booking_confirmation", "double_opt_in", ...
    to_email = models.EmailField()
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    message_id = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # When the current attempt claimed it: a row left "sending" long after this was never completed (the
    # dot is only sent once "sent" is committed), so it may be claimed again (smarketing/mail/services.py).
    claimed_at = models.DateTimeField(null=True, blank=True)
    # An optional iCalendar invitation (booking confirmations): sent as a text/calendar part with this METHOD.
    calendar = models.TextField(blank=True)
    calendar_method = models.CharField(max_length=10, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"], name="transactional_status_idx")]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_email}"


class CapturedMessage(models.Model):
    """A message received by the demo's local SMTP sink (`smarketing mailsink`), shown in the mail viewer."""

    received_at = models.DateTimeField(default=timezone.now)
    mail_from = models.CharField(max_length=320)
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=300, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    raw = models.BinaryField()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["-received_at", "-id"], name="captured_newest_idx")]  # the viewer (0002)

    def __str__(self) -> str:
        return self.subject or "(no subject)"


class ThrottleWindow(models.Model):
    """How many messages one sender has sent in its current second or hour (smarketing/mail/throttle.py).

    One row per sender and window length, shared by every worker process: taking a share is one conditional
    UPDATE per window, so two processes can never both take the last slot.
    """

    class Scope(models.TextChoices):
        SECOND = "second", "Per second"
        HOUR = "hour", "Per hour"

    key = models.CharField(max_length=100)  # "identity:3", "transactional"
    scope = models.CharField(max_length=10, choices=Scope.choices)
    window_start = models.BigIntegerField(default=0)  # Unix time the current window began
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "scope"], name="throttle_window_unique")]

    def __str__(self) -> str:
        return f"{self.key} {self.scope}: {self.used}"
