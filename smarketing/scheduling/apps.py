from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "smarketing.scheduling"
    label = "scheduling"
    verbose_name = "Online scheduling"

    def ready(self):
        from smarketing.crm.services import on_contact_merge
        from smarketing.scheduling import services, tasks  # noqa: F401 - tasks: the periodic reminder job

        on_contact_merge(services.move_on_contact_merge)
