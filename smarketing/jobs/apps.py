from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_save


class JobsConfig(AppConfig):
    name = "smarketing.jobs"
    label = "jobs"
    verbose_name = "Background jobs"

    def ready(self):
        # Interim hook: every worker writes a heartbeat at start and every 15 s (smarketing/core/worker.py); after
        # each beat commits, the worker runs the periodic scheduler. Meant to become an explicit call in the
        # worker's heartbeat loop (then delete this line); calling the scheduler twice is harmless either way.
        post_save.connect(_after_heartbeat, sender="core.WorkerHeartbeat", dispatch_uid="jobs.periodic_scheduler")


def _after_heartbeat(sender, **kwargs):
    from smarketing.jobs.periodic import run_due_periodic_jobs_safely

    transaction.on_commit(run_due_periodic_jobs_safely, robust=True)
