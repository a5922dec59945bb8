from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "smarketing.segments"
    label = "segments"
    verbose_name = "Segments and lists"

    def ready(self):
        from smarketing.crm.services import on_contact_merge
        from smarketing.segments.services import move_on_contact_merge

        on_contact_merge(move_on_contact_merge)
