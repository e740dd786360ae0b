from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        # Registers the tasks with Celery in every process, so events.outbox can queue
        # them by name without importing this app.
        from . import tasks  # noqa: F401
