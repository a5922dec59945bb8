from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "smarketing.content"
    label = "content"
    verbose_name = "Content library"

    def ready(self):
        # tasks: the periodic expiry reminder; panels: the "content for this stage" panel on deal and contact pages
        from smarketing.content import panels, services, tasks  # noqa: F401
        from smarketing.crm.services import on_contact_merge

        on_contact_merge(services.move_on_contact_merge)
