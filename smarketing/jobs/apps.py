from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "smarketing.jobs"
    label = "jobs"
    verbose_name = "Background jobs"
