from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "smarketing.demo"
    label = "demo"
