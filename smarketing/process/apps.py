from django.apps import AppConfig


class ProcessConfig(AppConfig):
    name = "smarketing.process"
    label = "process"
    verbose_name = "Sales process and handoff"

    def ready(self):
        from smarketing.crm.services import (
            StageRule,
            on_contact_merge,
            register_lifecycle_rule,
            register_stage_rule,
        )
        from smarketing.jobs.outbox import register_consumer
        from smarketing.process import governance, handoff, tasks  # noqa: F401 - tasks: the periodic SLA job

        # Checklists and required records guard a deal's exit from its stage; playbook tasks greet its arrival.
        register_stage_rule(
            StageRule(criteria=governance.deal_criteria, fix=governance.deal_fix, entered=governance.deal_entered)
        )
        register_lifecycle_rule(governance.lifecycle_criteria)
        # New MQLs are routed and their clock starts; a lead that leaves MQL another way closes its handoff; a
        # contact entering any lifecycle stage gets that stage's playbook tasks.
        register_consumer(handoff.CONSUMER, handoff.on_lifecycle_events, batch_size=200)
        on_contact_merge(handoff.merge_contacts)
