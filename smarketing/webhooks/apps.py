from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "smarketing.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from smarketing.core.events import on_published
        from smarketing.webhooks.services import dispatch_soon

        # After any transaction that published events commits, get the fan-out going (debounced).
        on_published(dispatch_soon)
