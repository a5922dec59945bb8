"""The jobs app's tables: periodic schedules and outbox cursors. Job results live in django-tasks-db's DBTaskResult."""

from django.db import models
from django.utils import timezone


class PeriodicSchedule(models.Model):
    """When a periodic job (see periodic.py) runs next; claimed with a conditional UPDATE of next_run_at."""

    task_path = models.CharField(max_length=255, unique=True)
    every_seconds = models.PositiveIntegerField()
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    # The DBTaskResult id of the last enqueued run (a plain string: results may be pruned, or live in Redis).
    last_result_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["task_path"]

    def __str__(self) -> str:
        return self.task_path


class OutboxCursor(models.Model):
    """How far one outbox consumer (see outbox.py) has read: every event with seq <= position is handled."""

    name = models.CharField(max_length=100, unique=True)
    position = models.BigIntegerField(default=0)
    handled = models.BigIntegerField(default=0)
    dead = models.BigIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} @ {self.position}"


class OutboxDeadLetter(models.Model):
    """An event one consumer's handler failed on; set aside so the consumer moves on, kept until retried."""

    consumer = models.CharField(max_length=100)
    # While a dead letter refers to it the event is never pruned, so it can be read and retried.
    event = models.ForeignKey("core.Event", on_delete=models.CASCADE, related_name="+")
    error = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["consumer", "event"], name="outbox_dead_letter_once")]

    def __str__(self) -> str:
        return f"{self.consumer}: event {self.event_id}"
