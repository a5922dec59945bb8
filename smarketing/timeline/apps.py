from django.apps import AppConfig


class TimelineConfig(AppConfig):
    name = "smarketing.timeline"
    label = "timeline"
