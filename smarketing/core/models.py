from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class Origin(models.TextChoices):
    """What caused a write: shared by audit entries, lifecycle history and touchpoints."""

    UI = "ui", "Web UI"
    API = "api", "API"
    IMPORT = "import", "Import"
    FORM = "form", "Form"
    BOOKING = "booking", "Booking page"  # a visitor booking, rescheduling or canceling a meeting (scheduling)
    EMAIL = "email", "Email link"  # unsubscribe, preference center, tracking: the recipient acting from a mail
    WORKFLOW = "workflow", "Workflow"
    SYSTEM = "system", "System"
    SEED = "seed", "Demo data"


class AuditEntry(models.Model):
    """Who changed which field of which record, when, from what to what."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    origin = models.CharField(max_length=20, choices=Origin.choices, default=Origin.UI)
    action = models.CharField(max_length=30)  # create, update, delete, merge, export, erase, reassign, ...
    object_type = models.CharField(max_length=50)  # "crm.contact"
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)  # {"field": [old, new]}

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "-at"], name="audit_object_idx"),
            models.Index(fields=["action", "-at"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id}"


class WorkerHeartbeatQuerySet(models.QuerySet):
    def alive(self, now=None):
        """Workers heard from within WORKER_HEARTBEAT_MAX_AGE: the one definition of "a worker is alive"."""
        return self.filter(seen_at__gte=WorkerHeartbeat.alive_since(now))


class WorkerHeartbeat(models.Model):
    """Last sign of life of one worker process; /healthz reads the newest."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = WorkerHeartbeatQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"

    @staticmethod
    def alive_since(now=None):
        """The oldest heartbeat that still counts as alive."""
        return (now or timezone.now()) - timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE)

    def is_alive(self, now=None) -> bool:
        return self.seen_at >= self.alive_since(now)


class Event(models.Model):
    """A domain event (contact.created, deal.won, ...), written in the same transaction as the change.

    An outbox: because the row commits with the change, a crash can neither lose an event nor emit one for a
    change that rolled back. Consumers (webhooks, later workflows and scoring) read it in `seq` order, each at its
    own pace, through smarketing.jobs.outbox.
    """

    name = models.CharField(max_length=60)
    occurred_at = models.DateTimeField(default=timezone.now)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    # The read order of consumers, assigned after commit by the sequencer (jobs.outbox.sequence_events). Not the
    # id: ids are handed out at INSERT, but transactions commit in any order, so a reader paging on `id > cursor`
    # could pass an id whose transaction had not committed yet and never see it. Seqs are given only to committed
    # rows, by one sequencer at a time, each above all before: committed seqs never have a gap behind the newest.
    seq = models.BigIntegerField(null=True, blank=True, unique=True)

    class Meta:
        indexes = [
            # The sequencer's "committed but not yet numbered" scan stays tiny however large the table grows.
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="event_unsequenced_idx"),
            models.Index(fields=["object_type", "object_id"], name="event_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.object_type}#{self.object_id}"
