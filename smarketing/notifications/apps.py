from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "smarketing.notifications"
    label = "notifications"

    def ready(self):
        from smarketing.notifications import catalogue

        # Build the kind catalogue at start-up, so a bad declaration stops the process there.
        catalogue.load()
