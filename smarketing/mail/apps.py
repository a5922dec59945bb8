from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "smarketing.mail"
    label = "mail"
    verbose_name = "Mail sender"
