from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "smarketing.workflows"
    label = "workflows"
    verbose_name = "Workflows"
