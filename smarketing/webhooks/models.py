"""Outgoing webhooks: endpoints subscribed to events, and one delivery per endpoint per event."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

ALL_EVENTS = "*"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class Endpoint(models.Model):
    """A URL that receives signed POSTs for the events it subscribes to."""

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    # Declared event names (smarketing.core.events.event_types()), or ["*"] for every event, including future ones.
    events = models.JSONField(default=list)
    # Shown to admins so receivers can verify signatures; needed in clear to sign, so it cannot be hashed.
    secret = models.CharField(max_length=100, default=new_secret)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_name: str) -> bool:
        return ALL_EVENTS in self.events or event_name in self.events


class Delivery(models.Model):
    """One event sent (or being sent) to one endpoint, with the outcome of its last attempt."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    # Null for test pings sent from the UI; the unique constraint below ignores those (NULLs are distinct).
    event = models.ForeignKey("core.Event", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    event_name = models.CharField(max_length=60)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # The lease: a worker owns the delivery until locked_until; one that dies mid-request loses it then.
    locked_until = models.DateTimeField(null=True, blank=True)
    lock_token = models.CharField(max_length=32, blank=True)
    request_body = models.TextField(blank=True)  # fixed at the first attempt, so every retry sends the same bytes
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)  # an excerpt
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # An event is delivered once per endpoint, however many fan-outs run.
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once"),
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at", "-id"], name="webhook_delivery_log_idx"),
            models.Index(fields=["endpoint", "status", "-created_at", "-id"], name="webhook_delivery_status_idx"),
            # The sweep's "due and not finished" scan.
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_name} → {self.endpoint_id}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)
