"""The jobs app's own table: schedules of periodic jobs. Job results live in django-tasks-db's DBTaskResult."""

from django.db import models


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
