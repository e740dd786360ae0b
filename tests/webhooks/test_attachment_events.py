"""attachment.created and attachment.deleted: in the feed, at a webhook and in the issue's
history."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from standardwebhooks.webhooks import Webhook as StandardWebhook

from events.models import Event
from issues.models import IssueEvent
from tests.factories import IssueFactory

pytestmark = pytest.mark.django_db


def test_created_and_deleted_reach_the_feed_a_webhook_and_the_history(
    project, webhook, receiver, client_for, django_capture_on_commit_callbacks
):
    owner = project.created_by
    client = client_for(owner)
    issue = IssueFactory(project=project)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            f"/api/v1/issues/{issue.key}/attachments",
            {"file": SimpleUploadedFile("crash.log", b"Traceback ...")},
            format="multipart",
        )
    assert created.status_code == 201, created.content
    with django_capture_on_commit_callbacks(execute=True):
        deleted = client.delete(f"/api/v1/attachments/{created.json()['id']}")
    assert deleted.status_code == 204

    events = list(Event.objects.order_by("pk"))
    assert [e.type for e in events] == ["attachment.created", "attachment.deleted"]
    assert events[0].data["issue"] == issue.key
    assert events[0].data["filename"] == "crash.log"
    assert events[0].data["id"] == events[1].data["id"] == created.json()["id"]

    feed = client.get("/api/v1/events").json()["results"]
    assert {"attachment.created", "attachment.deleted"} <= {e["type"] for e in feed}

    payloads = [
        StandardWebhook(webhook.secret).verify(
            r["body"], {name.lower(): value for name, value in r["headers"].items()}
        )
        for r in receiver.requests
    ]
    sent = {p["type"]: p["data"] for p in payloads}
    assert sent["attachment.created"]["object"]["filename"] == "crash.log"
    assert sent["attachment.deleted"]["object"]["issue"] == issue.key

    history = IssueEvent.objects.filter(issue=issue).order_by("id")
    assert [(e.kind, e.field, e.old_value, e.new_value, e.actor) for e in history] == [
        ("attached", "attachment", None, "crash.log", owner),
        ("detached", "attachment", "crash.log", None, owner),
    ]
    listed = client.get(f"/api/v1/issues/{issue.key}/events").json()["results"]
    assert [e["kind"] for e in listed][-2:] == ["attached", "detached"]
