"""Celery tasks: thin, safe to run twice (the services make them so)."""

from celery import shared_task

from . import services


@shared_task(name="attachments.tasks.delete_objects")
def delete_objects() -> None:
    services.objects_delete_due()


@shared_task(name="attachments.tasks.sweep")
def sweep() -> None:
    services.attachments_sweep()


@shared_task(name="attachments.tasks.scan")
def scan(attachment_id: int) -> None:
    services.attachment_scan(attachment_id=attachment_id)
