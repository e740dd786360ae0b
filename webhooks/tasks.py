"""Celery tasks: thin, by id, safe to run twice (the services make them idempotent)."""

from celery import shared_task

from . import services


@shared_task(name="webhooks.tasks.relay_event")
def relay_event(event_id: int) -> None:
    services.event_relay(event_id=event_id)


@shared_task(name="webhooks.tasks.deliver")
def deliver(delivery_id: int) -> None:
    services.delivery_attempt(delivery_id=delivery_id)


@shared_task(name="webhooks.tasks.sweep")
def sweep() -> None:
    services.sweep()


@shared_task(name="webhooks.tasks.prune_deliveries")
def prune_deliveries() -> None:
    services.deliveries_prune()
