"""Relaying committed events to a real local receiver: signatures, retries, disabling."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as StandardWebhook

from events.models import Event
from events.outbox import event_emit
from projects.services import project_update
from webhooks import services
from webhooks.models import Delivery, Webhook

pytestmark = pytest.mark.django_db


def emit(project, name="Renamed"):
    """One committed-looking event (the test's transaction is never committed)."""
    with transaction.atomic():
        return event_emit(type="project.updated", project=project, actor=None, data={"name": name})


def lowered(headers):
    return {name.lower(): value for name, value in headers.items()}


def test_each_committed_change_reaches_the_receiver_once_signed(
    project, webhook, receiver, client_for, django_capture_on_commit_callbacks
):
    client = client_for(project.created_by)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(f"/api/v1/projects/{project.key}", {"name": "New name"})
    assert response.status_code == 200

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    headers = lowered(request["headers"])
    payload = StandardWebhook(webhook.secret).verify(request["body"], headers)
    event = Event.objects.get(type="project.updated")
    assert headers["webhook-id"] == f"msg_{event.pk}"
    assert payload["id"] == event.pk
    assert payload["type"] == "project.updated"
    assert payload["data"]["project"] == project.key
    assert payload["data"]["actor"] == project.created_by.username
    assert payload["data"]["object"]["name"] == "New name"
    assert payload["data"]["changes"]["name"] != "New name"
    event.refresh_from_db()
    assert event.dispatched_at is not None
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("succeeded", 1, 200)
    assert delivery.request_headers["webhook-id"] == f"msg_{event.pk}"
    assert delivery.response_body == "ok"


def test_a_rolled_back_change_sends_nothing(
    project, webhook, receiver, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        project_update(project=project, actor=project.created_by, name="Never")
        raise RuntimeError("rolled back")
    assert receiver.requests == []
    assert not Event.objects.exists()
    assert not Delivery.objects.exists()


def test_only_subscribed_active_webhooks_of_the_project_get_the_event(project, receiver):
    owner = project.created_by
    wanted = services.webhook_create(
        project=project, creator=owner, url=receiver.url, event_types=["project.updated"]
    )
    services.webhook_create(
        project=project, creator=owner, url=receiver.url, event_types=["issue.created"]
    )
    services.webhook_create(project=project, creator=owner, url=receiver.url, active=False)
    event = emit(project)
    ids = services.event_relay(event_id=event.pk)
    assert list(Delivery.objects.filter(pk__in=ids).values_list("webhook", flat=True)) == [
        wanted.pk
    ]
    # Relaying again creates nothing more.
    assert services.event_relay(event_id=event.pk) == []
    assert Delivery.objects.count() == 1


def test_server_errors_are_retried_with_the_same_id_and_growing_gaps(
    settings, webhook, receiver, project
):
    settings.WEBHOOK_RETRY_SCHEDULE = [10, 100, 1000]
    receiver.answers = [(500, {}), (503, {})]
    (delivery_id,) = services.event_relay(event_id=emit(project).pk)
    start = timezone.now()

    first = services.delivery_attempt(delivery_id=delivery_id, now=start)
    assert (first.status, first.attempts, first.response_status) == ("retrying", 1, 500)
    # Not due yet: nothing is sent.
    assert (
        services.delivery_attempt(delivery_id=delivery_id, now=start + timedelta(seconds=5))
        is None
    )
    second = services.delivery_attempt(delivery_id=delivery_id, now=first.next_attempt_at)
    assert (second.status, second.attempts) == ("retrying", 2)
    third = services.delivery_attempt(delivery_id=delivery_id, now=second.next_attempt_at)
    assert (third.status, third.attempts, third.next_attempt_at) == ("succeeded", 3, None)

    first_gap = first.next_attempt_at - start
    second_gap = second.next_attempt_at - first.next_attempt_at
    assert timedelta(seconds=9) <= first_gap <= timedelta(seconds=11)
    assert timedelta(seconds=90) <= second_gap <= timedelta(seconds=110)
    ids = {lowered(r["headers"])["webhook-id"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and ids == {f"msg_{third.event_id}"}
    # Retries are signed anew, and each signature verifies.
    for request in receiver.requests:
        headers = lowered(request["headers"])
        assert (
            services.sign(
                secret=webhook.secret,
                msg_id=headers["webhook-id"],
                timestamp=int(headers["webhook-timestamp"]),
                body=request["body"],
            )
            == headers["webhook-signature"]
        )


def test_retries_stop_when_the_schedule_is_spent(settings, webhook, receiver, project):
    settings.WEBHOOK_RETRY_SCHEDULE = [10]
    receiver.answers = [(500, {}), (500, {})]
    (delivery_id,) = services.event_relay(event_id=emit(project).pk)
    first = services.delivery_attempt(delivery_id=delivery_id)
    last = services.delivery_attempt(delivery_id=delivery_id, now=first.next_attempt_at)
    assert (last.status, last.attempts, last.next_attempt_at) == ("failed", 2, None)
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 1


@pytest.mark.parametrize("status", [400, 404, 410, 302])
def test_other_client_errors_and_redirects_are_not_retried(status, webhook, receiver, project):
    receiver.answers = [(status, {"Location": "http://127.0.0.1:1/"})]
    (delivery_id,) = services.event_relay(event_id=emit(project).pk)
    delivery = services.delivery_attempt(delivery_id=delivery_id)
    assert (delivery.status, delivery.response_status, delivery.next_attempt_at) == (
        "failed",
        status,
        None,
    )
    assert len(receiver.requests) == 1


def test_429_honours_retry_after(settings, webhook, receiver, project):
    settings.WEBHOOK_RETRY_SCHEDULE = [10, 10]
    receiver.answers = [(429, {"Retry-After": "600"})]
    (delivery_id,) = services.event_relay(event_id=emit(project).pk)
    start = timezone.now()
    delivery = services.delivery_attempt(delivery_id=delivery_id, now=start)
    assert delivery.status == "retrying"
    # Counted from when the answer came (RFC 9110).
    answered = start + timedelta(milliseconds=delivery.duration_ms)
    assert delivery.next_attempt_at - answered == timedelta(seconds=600)


def test_connection_errors_are_retried(settings, project):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    webhook = services.webhook_create(
        project=project, creator=project.created_by, url="http://127.0.0.1:1/closed"
    )
    (delivery_id,) = services.event_relay(event_id=emit(project).pk)
    delivery = services.delivery_attempt(delivery_id=delivery_id)
    assert delivery.status == "retrying"
    assert delivery.response_status is None
    assert "Connection" in delivery.error or "refused" in delivery.error.lower()
    assert delivery.webhook == webhook


def test_consecutive_failed_events_disable_the_webhook_and_reenabling_resets(
    settings, webhook, receiver, project, client_for
):
    settings.WEBHOOK_DISABLE_AFTER = 3
    receiver.answers = [(400, {})] * 3
    for _ in range(3):
        (delivery_id,) = services.event_relay(event_id=emit(project).pk)
        services.delivery_attempt(delivery_id=delivery_id)
    webhook.refresh_from_db()
    assert (webhook.active, webhook.consecutive_failures) == (False, 3)
    assert "3 events" in webhook.disabled_reason
    # A disabled webhook gets no more deliveries.
    assert services.event_relay(event_id=emit(project).pk) == []

    url = f"/api/v1/projects/{project.key}/webhooks/{webhook.pk}"
    response = client_for(project.created_by).patch(url, {"active": True}, format="json")
    assert response.status_code == 200
    assert response.json()["consecutive_failures"] == 0
    assert response.json()["disabled_reason"] == ""
    webhook.refresh_from_db()
    assert (webhook.active, webhook.consecutive_failures) == (True, 0)


def test_a_success_resets_the_failure_count(settings, webhook, receiver, project):
    receiver.answers = [(400, {})]
    for _ in range(2):
        (delivery_id,) = services.event_relay(event_id=emit(project).pk)
        services.delivery_attempt(delivery_id=delivery_id)
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 0


def test_during_rotation_both_secrets_sign(webhook, receiver, project):
    old_secret = webhook.secret
    services.webhook_rotate_secret(webhook=webhook)
    (delivery_id,) = services.event_relay(event_id=emit(project).pk)
    services.delivery_attempt(delivery_id=delivery_id)
    request = receiver.requests[0]
    headers = lowered(request["headers"])
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old_secret, webhook.secret):
        StandardWebhook(secret).verify(request["body"], headers)


def test_after_the_grace_period_only_the_new_secret_signs(settings, webhook, receiver, project):
    settings.WEBHOOK_SECRET_ROTATION_GRACE = 60
    services.webhook_rotate_secret(webhook=webhook)
    (delivery_id,) = services.event_relay(event_id=emit(project).pk)
    later = timezone.now() + timedelta(seconds=61)
    services.delivery_attempt(delivery_id=delivery_id, now=later)
    headers = lowered(receiver.requests[0]["headers"])
    assert headers["webhook-signature"].count("v1,") == 1


def test_a_task_run_twice_sends_once(webhook, receiver, project):
    (delivery_id,) = services.event_relay(event_id=emit(project).pk)
    services.delivery_attempt(delivery_id=delivery_id)
    assert services.delivery_attempt(delivery_id=delivery_id) is None
    assert len(receiver.requests) == 1


def test_webhooks_of_a_deleted_project_still_get_project_deleted(
    project, webhook, receiver, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(project.created_by).delete(f"/api/v1/projects/{project.key}")
    assert response.status_code == 204
    assert [p["type"] for p in receiver.payloads()] == ["project.deleted"]
    webhook.refresh_from_db()
    assert webhook.project is None
    assert Delivery.objects.get().status == "succeeded"
    # Once nothing is left to send, pruning forgets the orphaned webhook.
    services.deliveries_prune()
    assert not Webhook.objects.filter(pk=webhook.pk).exists()
