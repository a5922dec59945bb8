from django.apps import AppConfig


class EmailConfig(AppConfig):
    name = "smarketing.email"
    label = "email"
    verbose_name = "Email marketing"

    def ready(self):
        from smarketing.crm.services import on_contact_merge
        from smarketing.email.services import move_on_contact_merge

        on_contact_merge(move_on_contact_merge)
        from smarketing.email import bounces, tracking  # noqa: F401 - tracking registers its periodic job
        from smarketing.mail.feedback import register_handler

        # Bounces and complaints (recorded by mail) marked on the send they answer, on the contact's timeline.
        register_handler(bounces.on_feedback_notice)
