from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "smarketing.workflows"
    label = "workflows"
    verbose_name = "Workflows"

    def ready(self):
        from smarketing.crm.services import on_contact_merge
        from smarketing.workflows.services import move_on_contact_merge

        on_contact_merge(move_on_contact_merge)
        from smarketing.jobs.outbox import register_consumer
        from smarketing.workflows import triggers

        register_consumer("workflows", triggers.handle_events, batch_size=500)
        # wfactions: the call_webhook steps' job and its periodic sweep (registered on import).
        from smarketing.workflows import webhook_calls  # noqa: F401
