from django.apps import AppConfig


class EmailConfig(AppConfig):
    name = "smarketing.email"
    label = "email"
    verbose_name = "Email marketing"
