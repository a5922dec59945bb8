from django.conf import settings
from django.db import models
from django.utils import timezone


class EmailState(models.TextChoices):
    IN_APP = "in_app", "In the app only"
    PENDING = "pending", "Email waiting to be sent"
    SENDING = "sending", "Email being sent"
    SENT = "sent", "Emailed"
    FAILED = "failed", "Email could not be sent"


class Notification(models.Model):
    """Something a user should know about, shown in their notification center and perhaps emailed to them."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )  # served by the two indexes below
    kind = models.CharField(max_length=50)  # a declared kind (notifications.catalogue); no choices, no migration
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)  # a path inside the app ("/deals/12/")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # The record the notification is about ("crm.contact", "12"), as in the audit log: privacy requests find it.
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email_state = models.CharField(max_length=10, choices=EmailState.choices, default=EmailState.IN_APP)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [
            # The bell's unread count on every page: an index range over one user's unread rows.
            models.Index(fields=["user", "read_at"], name="notification_unread_idx"),
            # The notification center: one user's newest first, keyset pages on id.
            models.Index(fields=["user", "-id"], name="notification_user_idx"),
            models.Index(fields=["object_type", "object_id"], name="notification_object_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


class Preference(models.Model):
    """How one user wants one kind of notification: in the app only, or in the app and by email."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=50)
    email = models.BooleanField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_unique")]

    def __str__(self) -> str:
        return f"{self.kind}: {'email' if self.email else 'in-app only'}"
