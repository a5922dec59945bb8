from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "smarketing.privacy"
    label = "privacy"
