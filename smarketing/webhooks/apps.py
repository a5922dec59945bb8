from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "smarketing.webhooks"
    label = "webhooks"
