from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "smarketing.crm"
    label = "crm"
