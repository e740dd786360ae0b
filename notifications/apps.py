from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        # Registers the tasks with Celery in every process, so events.outbox can queue
        # them by name without importing this app.
        from . import schema, tasks  # noqa: F401 - OpenAPI descriptions; Celery tasks
