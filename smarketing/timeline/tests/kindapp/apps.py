from django.apps import AppConfig


class KindAppConfig(AppConfig):
    name = "smarketing.timeline.tests.kindapp"
    label = "kindapp"
