from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "smarketing.segments"
    label = "segments"
    verbose_name = "Segments and lists"
