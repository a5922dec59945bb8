from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class CoreConfig(AppConfig):
    name = "smarketing.core"
    label = "core"
    verbose_name = "Platform"

    def ready(self):
        # Each app declares its event names in its own events.py; importing them all fills the catalogue
        # (core.events) before any request or job can publish.
        autodiscover_modules("events")
        # Likewise each app's labels.py declares the words for its stored codes (core.labels).
        autodiscover_modules("labels")
