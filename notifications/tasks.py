"""Celery tasks: thin, by id, safe to run twice (the services make them idempotent)."""

from celery import shared_task

from . import consumer, sending, services


@shared_task(name="notifications.tasks.consume_events")
def consume_events(event_id: int | None = None) -> None:
    consumer.events_consume(up_to=event_id)


@shared_task(name="notifications.tasks.send_email")
def send_email(email_id: int) -> None:
    sending.email_send(email_id=email_id)


@shared_task(name="notifications.tasks.close_batches")
def close_batches() -> None:
    sending.batches_close()


@shared_task(name="notifications.tasks.send_digests")
def send_digests() -> None:
    sending.digests_close()


@shared_task(name="notifications.tasks.sweep")
def sweep() -> None:
    services.sweep()


@shared_task(name="notifications.tasks.prune")
def prune() -> None:
    sending.emails_prune()
