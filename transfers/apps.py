from django.apps import AppConfig


class TransfersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "transfers"
    verbose_name = "Exports and imports"

    def ready(self):
        # Registers the tasks with Celery in every process, so services queue them by name.
        from . import tasks  # noqa: F401
