from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "smarketing.metrics"
    label = "metrics"
