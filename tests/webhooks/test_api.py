"""The webhooks API: secrets shown once, who may manage webhooks, lists' query counts."""

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook as StandardWebhook

from tests.matrix import CALLERS, Case, check, matrix
from tests.state import database_state
from webhooks import services
from webhooks.models import Delivery, Webhook

from .test_delivery import emit, lowered

pytestmark = pytest.mark.django_db


def hooks_url(project, *rest):
    return "/".join([f"/api/v1/projects/{project.key}/webhooks", *map(str, rest)])


def test_create_shows_the_secret_once(project, client_for, receiver):
    client = client_for(project.created_by)
    response = client.post(
        hooks_url(project),
        {"url": receiver.url, "event_types": ["issue.created"], "description": "bot"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    webhook = Webhook.objects.get()
    assert body["secret"] == webhook.secret and webhook.secret.startswith("whsec_")
    assert (body["url"], body["event_types"], body["active"]) == (
        receiver.url,
        ["issue.created"],
        True,
    )
    assert webhook.created_by == project.created_by
    for response in (client.get(hooks_url(project)), client.get(hooks_url(project, webhook.pk))):
        assert webhook.secret not in response.content.decode()
        assert "whsec_" not in response.content.decode()


def test_unknown_event_types_are_refused(project, client_for, receiver):
    response = client_for(project.created_by).post(
        hooks_url(project), {"url": receiver.url, "event_types": ["issue.eaten"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"].startswith("event_types")
    assert not Webhook.objects.exists()


def test_rotate_secret_answers_the_new_secret_and_keeps_the_old_for_a_while(
    project, webhook, client_for
):
    old = webhook.secret
    response = client_for(project.created_by).post(hooks_url(project, webhook.pk, "rotate-secret"))
    assert response.status_code == 200
    webhook.refresh_from_db()
    assert response.json()["secret"] == webhook.secret != old
    assert webhook.previous_secret == old
    assert response.json()["previous_secret_expires_at"] is not None


def test_ping_sends_a_signed_ping_and_answers_the_result(project, webhook, receiver, client_for):
    Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=4)
    response = client_for(project.created_by).post(hooks_url(project, webhook.pk, "ping"))
    assert response.status_code == 200
    assert response.json()["succeeded"] is True
    assert response.json()["response_status"] == 200
    request = receiver.requests[0]
    payload = StandardWebhook(webhook.secret).verify(request["body"], lowered(request["headers"]))
    assert payload["type"] == "webhook.ping"
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 0


def test_deliveries_list_detail_and_redeliver(project, webhook, receiver, client_for):
    receiver.answers = [(410, {})]
    (delivery_id,) = services.event_relay(event_id=emit(project).pk)
    services.delivery_attempt(delivery_id=delivery_id)
    client = client_for(project.created_by)

    listed = client.get(hooks_url(project, webhook.pk, "deliveries")).json()["results"]
    assert [(d["id"], d["status"], d["response_status"]) for d in listed] == [
        (delivery_id, "failed", 410)
    ]
    assert "request_body" not in listed[0]
    detail = client.get(hooks_url(project, webhook.pk, "deliveries", delivery_id)).json()
    assert detail["webhook_id"] == detail["request_headers"]["webhook-id"]
    assert '"type":"project.updated"' in detail["request_body"]

    response = client.post(hooks_url(project, webhook.pk, "deliveries", delivery_id, "redeliver"))
    assert response.status_code == 202
    # Eager in tests: queued on commit, which this test's transaction never reaches.
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert services.delivery_attempt(delivery_id=delivery_id).status == "succeeded"
    ids = {lowered(r["headers"])["webhook-id"] for r in receiver.requests}
    assert len(receiver.requests) == 2 and len(ids) == 1


def test_redeliver_to_a_disabled_webhook_is_a_conflict(project, webhook, client_for):
    (delivery_id,) = services.event_relay(event_id=emit(project).pk)
    Webhook.objects.filter(pk=webhook.pk).update(active=False)
    response = client_for(project.created_by).post(
        hooks_url(project, webhook.pk, "deliveries", delivery_id, "redeliver")
    )
    assert response.status_code == 409
    assert response.json()["code"] == "webhook_disabled"


def test_a_delivery_of_another_webhook_is_404(project, webhook, receiver, client_for):
    other = services.webhook_create(project=project, creator=project.created_by, url=receiver.url)
    first, _ = services.event_relay(event_id=emit(project).pk)
    delivery = Delivery.objects.get(pk=first)
    wrong = other if delivery.webhook_id == webhook.pk else webhook
    response = client_for(project.created_by).get(
        hooks_url(project, wrong.pk, "deliveries", delivery.pk)
    )
    assert response.status_code == 404


@pytest.mark.parametrize("page_size", [1, 100])
def test_list_query_counts_are_constant(
    project, receiver, client_for, django_assert_max_num_queries, page_size
):
    for _ in range(12):
        webhook = services.webhook_create(
            project=project, creator=project.created_by, url=receiver.url
        )
    for _ in range(12):
        services.event_relay(event_id=emit(project).pk)
    client = client_for(project.created_by)
    # token blocklist, user, project with role, count, page
    with django_assert_max_num_queries(5):
        response = client.get(f"{hooks_url(project)}?page_size={page_size}")
    assert len(response.json()["results"]) == min(page_size, 12)
    # ... and the webhook
    with django_assert_max_num_queries(6):
        response = client.get(
            f"{hooks_url(project, webhook.pk, 'deliveries')}?page_size={page_size}"
        )
    assert len(response.json()["results"]) == min(page_size, 12)


# --- who may ------------------------------------------------------------------------------

HOOKS = "/api/v1/projects/{key}/webhooks"
CASES = [
    Case("list", "get", HOOKS, allowed="maintainer"),
    Case("create", "post", HOOKS, {"url": "{receiver}"}, allowed="maintainer", status=201),
    Case("detail", "get", f"{HOOKS}/{{webhook}}", allowed="maintainer"),
    Case("update", "patch", f"{HOOKS}/{{webhook}}", {"description": "changed"}, "maintainer"),
    Case("delete", "delete", f"{HOOKS}/{{webhook}}", allowed="maintainer", status=204),
    Case("ping", "post", f"{HOOKS}/{{webhook}}/ping", allowed="maintainer"),
    Case("rotate secret", "post", f"{HOOKS}/{{webhook}}/rotate-secret", allowed="maintainer"),
    Case("deliveries", "get", f"{HOOKS}/{{webhook}}/deliveries", allowed="maintainer"),
    Case("delivery", "get", f"{HOOKS}/{{webhook}}/deliveries/{{delivery}}", allowed="maintainer"),
    Case(
        "redeliver",
        "post",
        f"{HOOKS}/{{webhook}}/deliveries/{{delivery}}/redeliver",
        allowed="maintainer",
        status=202,
    ),
]


def snapshot(project):
    return (
        sorted(Webhook.objects.filter(project=project).values_list("pk", "secret", "description")),
        sorted(Delivery.objects.values_list("pk", "status", "attempts", "next_attempt_at")),
    )


# Every caller kind in a private project; in an internal one, the outsider (a viewer there).
@matrix(CASES, callers=[(kind, "private") for kind in CALLERS] + [("outsider", "internal")])
def test_permission_matrix(project, webhook, receiver, client_as, case, kind, visibility):
    project.visibility = visibility
    project.save()
    (delivery_id,) = services.event_relay(event_id=emit(project).pk)
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery_id).update(status="failed", next_attempt_at=None)
    _user, client = client_as(project, kind, case.scope)
    fill = {
        "key": project.key,
        "webhook": webhook.pk,
        "delivery": delivery_id,
        "receiver": receiver.url,
    }

    # What a refusal must not change includes what the receiver was sent.
    check(
        client,
        case,
        kind,
        visibility,
        state=lambda: (database_state(), snapshot(project), list(receiver.requests)),
        **fill,
    )
