"""issue.related, issue.unrelated and issue.unblocked: in the feed and at a webhook."""

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from events.models import Event
from projects.models import Role
from tests.factories import IssueFactory, MembershipFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def lowered(headers):
    return {name.lower(): value for name, value in headers.items()}


def test_related_unrelated_and_unblocked_reach_the_feed_and_a_webhook(
    project, webhook, receiver, client_for, django_capture_on_commit_callbacks
):
    owner = project.created_by
    client = client_for(owner)
    blocker, blocked = IssueFactory(project=project), IssueFactory(project=project)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            f"/api/v1/issues/{blocker.key}/relations",
            {"type": "blocks", "issue": blocked.key},
            format="json",
        )
    assert created.status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        closed = client.post(
            f"/api/v1/issues/{blocker.key}/status",
            {"status": "closed", "resolution": "fixed"},
            format="json",
        )
    assert closed.status_code == 200, closed.content
    with django_capture_on_commit_callbacks(execute=True):
        deleted = client.delete(f"/api/v1/issues/{blocker.key}/relations/{created.json()['id']}")
    assert deleted.status_code == 204

    types = list(Event.objects.order_by("pk").values_list("type", flat=True))
    assert types == ["issue.related", "issue.transitioned", "issue.unblocked", "issue.unrelated"]
    related = Event.objects.get(type="issue.related").data
    assert (related["subject"], related["type"], related["issue"]["key"]) == (
        blocker.key,
        "blocks",
        blocked.key,
    )
    assert Event.objects.get(type="issue.unblocked").data["key"] == blocked.key

    feed = client.get("/api/v1/events").json()["results"]
    assert {"issue.related", "issue.unrelated", "issue.unblocked"} <= {e["type"] for e in feed}

    payloads = [
        StandardWebhook(webhook.secret).verify(r["body"], lowered(r["headers"]))
        for r in receiver.requests
    ]
    sent = {p["type"]: p["data"] for p in payloads}
    assert {"issue.related", "issue.unrelated", "issue.unblocked"} <= set(sent)
    assert sent["issue.related"]["object"]["issue"]["key"] == blocked.key
    assert sent["issue.unblocked"]["object"]["key"] == blocked.key


def test_an_event_never_names_an_issue_of_a_private_project(project, client_for):
    owner = project.created_by
    secret_project = ProjectFactory(visibility="private", created_by=owner)
    MembershipFactory(project=secret_project, user=owner, role=Role.OWNER)
    mine = IssueFactory(project=project)
    secret = IssueFactory(project=secret_project, title="Secret plan")
    response = client_for(owner).post(
        f"/api/v1/issues/{mine.key}/relations",
        {"type": "relates_to", "issue": secret.key},
        format="json",
    )
    assert response.status_code == 201, response.content
    in_mine = Event.objects.get(type="issue.related", project=project).data
    assert in_mine["issue"] is None and "Secret plan" not in str(in_mine)
