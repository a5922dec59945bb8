from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "smarketing.jobs"
    label = "jobs"
    verbose_name = "Background jobs"

    def ready(self):
        from django.db.models.signals import post_migrate

        from smarketing.core.events import on_published
        from smarketing.jobs.outbox import ensure_cursors, wake_consumers

        # After any transaction that published events commits, every outbox consumer gets a run (debounced).
        on_published(wake_consumers)
        # A consumer added by a deploy gets its cursor when the deploy migrates: start="now" means from then.
        post_migrate.connect(ensure_cursors, sender=self)
