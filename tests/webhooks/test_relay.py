"""The outbox is the truth: a broker that is down delays webhooks, the sweeper catches up."""

from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from config.celery import app
from events.models import Event
from webhooks import services, tasks
from webhooks.models import Delivery

from .test_delivery import emit

pytestmark = pytest.mark.django_db


def test_with_the_broker_down_the_api_works_and_the_sweeper_delivers_later(
    project, webhook, receiver, client_for, django_capture_on_commit_callbacks, monkeypatch
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(app.tasks["webhooks.tasks.relay_event"], "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(project.created_by).patch(
            f"/api/v1/projects/{project.key}", {"name": "Offline"}
        )
    assert response.status_code == 200
    event = Event.objects.get(type="project.updated")
    assert event.dispatched_at is None
    assert receiver.requests == []

    # Too fresh for the sweeper (its task may just be on the way) ...
    assert services.sweep(now=event.created_at) == ([], [])
    # ... later it relays the event and queues its delivery (eager here: sent at once).
    later = timezone.now() + timedelta(seconds=10)
    event_ids, _ = services.sweep(now=later)
    assert event_ids == [event.pk]
    assert [p["id"] for p in receiver.payloads()] == [event.pk]
    assert Delivery.objects.get().status == "succeeded"


def test_the_sweeper_queues_due_retries(settings, project, webhook, receiver):
    receiver.answers = [(500, {})]
    (delivery_id,) = services.event_relay(event_id=emit(project).pk)
    delivery = services.delivery_attempt(delivery_id=delivery_id)
    assert delivery.status == "retrying"
    assert services.sweep() == ([], [])  # not due yet
    later = delivery.next_attempt_at + timedelta(seconds=10)
    _, due = services.sweep(now=later)
    assert due == [delivery_id]
    # (The eagerly run task tried at the real time, when it was not due yet.)
    delivery = services.delivery_attempt(delivery_id=delivery_id, now=later)
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)


def test_pruning_forgets_old_finished_deliveries_only(settings, project, webhook, receiver):
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 30
    done, pending = (services.event_relay(event_id=emit(project).pk)[0] for _ in range(2))
    services.delivery_attempt(delivery_id=done)
    assert services.deliveries_prune(now=timezone.now() + timedelta(days=29)) == 0
    assert services.deliveries_prune(now=timezone.now() + timedelta(days=31)) == 1
    assert list(Delivery.objects.values_list("pk", flat=True)) == [pending]


def test_tasks_call_the_services(project, webhook, receiver):
    event = emit(project)
    tasks.relay_event(event.pk)
    (delivery,) = Delivery.objects.all()
    tasks.deliver(delivery.pk)
    tasks.sweep()
    tasks.prune_deliveries()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert len(receiver.requests) == 1
