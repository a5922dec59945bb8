from django.apps import AppConfig


class FormsConfig(AppConfig):
    name = "smarketing.forms"
    label = "forms"
    verbose_name = "Forms and web tracking"
