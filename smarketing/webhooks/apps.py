from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "smarketing.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from smarketing.jobs.outbox import register_consumer
        from smarketing.webhooks import services

        # The fan-out reads the outbox as its own consumer. "beginning": a fresh cursor (a new install, a flushed
        # test database) must not skip events already written; endpoints ignore events older than themselves.
        register_consumer(
            services.CONSUMER,
            services.fan_out,
            batch_size=services.FAN_OUT_BATCH,
            start="beginning",
            wanted=services.has_active_endpoints,
        )
