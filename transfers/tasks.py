"""Celery tasks: thin, by id, safe to run twice (the services make them so)."""

from celery import shared_task

from config.celery import enqueue

from . import services


@shared_task(name="transfers.tasks.run_export")
def run_export(export_id: int) -> None:
    services.export_run(export_id=export_id)


@shared_task(name="transfers.tasks.run_import")
def run_import(import_id: int) -> None:
    if services.import_run(import_id=import_id):
        # A slice is done: the rest waits its turn behind the tasks queued meanwhile.
        enqueue("transfers.tasks.run_import", import_id)


@shared_task(name="transfers.tasks.sweep")
def sweep() -> None:
    services.transfers_sweep()
