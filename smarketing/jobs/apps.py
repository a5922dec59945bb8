from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "smarketing.jobs"
    label = "jobs"
    verbose_name = "Background jobs"

    def ready(self):
        from smarketing.core.events import on_published
        from smarketing.jobs.outbox import wake_consumers

        # After any transaction that published events commits, every outbox consumer gets a run (debounced).
        on_published(wake_consumers)
