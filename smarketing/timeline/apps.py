from django.apps import AppConfig


class TimelineConfig(AppConfig):
    name = "smarketing.timeline"
    label = "timeline"

    def ready(self) -> None:
        from smarketing.timeline import kinds

        # Collect every app's kinds.py now, so a duplicate or malformed kind stops startup, not a page view.
        kinds.load()
