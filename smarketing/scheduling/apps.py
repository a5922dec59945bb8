from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "smarketing.scheduling"
    label = "scheduling"
    verbose_name = "Online scheduling"

    def ready(self):
        from smarketing.crm.services import on_contact_merge

        # tasks: the periodic reminder job; external: the periodic refresh of external busy calendars
        from smarketing.scheduling import external, services, tasks  # noqa: F401

        on_contact_merge(services.move_on_contact_merge)
