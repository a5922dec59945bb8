from django.apps import AppConfig


class FormsConfig(AppConfig):
    name = "smarketing.forms"
    label = "forms"
    verbose_name = "Forms and web tracking"

    def ready(self):
        from smarketing.crm.services import on_contact_merge
        from smarketing.forms.capture import move_on_contact_merge

        on_contact_merge(move_on_contact_merge)
        # Web tracking (the tracking part): page views reach the database through the ingest's batches.
        from smarketing.core.ingest import register_stream
        from smarketing.forms.tracking import record_page_views

        register_stream("page_view", record_page_views)
