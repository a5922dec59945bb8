from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "smarketing.scoring"
    label = "scoring"
    verbose_name = "Lead scoring"

    def ready(self):
        from smarketing.jobs.outbox import register_consumer
        from smarketing.scoring import incremental, tasks  # noqa: F401 - tasks registers the periodic jobs

        # A contact's fit follows its details: created and updated contacts (and changed companies) are rescored.
        register_consumer(incremental.CONSUMER, incremental.rescore_changed_records, batch_size=200)
