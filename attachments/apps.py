from django.apps import AppConfig
from django.db.models.signals import post_delete


def _attachment_deleted(sender, instance, **kwargs):
    from .services import attachment_removed

    attachment_removed(attachment=instance)


class AttachmentsConfig(AppConfig):
    name = "attachments"
    verbose_name = "Attachments"

    def ready(self):
        # Registers the tasks with Celery in every process, so services queue them by name.
        from . import tasks  # noqa: F401

        # Every way a row goes (its own deletion, or its comment's, issue's or project's
        # cascading to it) records its object for deletion, in the same transaction.
        from .models import Attachment

        post_delete.connect(_attachment_deleted, sender=Attachment, dispatch_uid="attachments")
