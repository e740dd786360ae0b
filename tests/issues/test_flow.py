import pytest

from issues.models import Issue, IssueEvent
from tests.factories import LabelFactory

pytestmark = pytest.mark.django_db


def test_issue_lifecycle_through_the_api(project, member_of, client_for):
    owner = client_for(project.created_by)
    dev = member_of(project, "developer")
    reviewer = member_of(project, "developer")
    bug = LabelFactory(project=project, name="bug")

    response = owner.post(
        "/api/v1/issues",
        {
            "project": project.key,
            "title": "Login fails",
            "priority": "high",
            "type": "bug",
            "assignee": dev.username,
            "labels": ["bug"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["key"] == f"{project.key}-1"
    assert body["status"] == "open"
    assert body["assignee"]["username"] == dev.username
    assert body["labels"] == [{"id": bug.pk, "name": "bug", "color": bug.color}]
    key = body["key"]

    dev_client = client_for(dev)
    assert (
        dev_client.post(f"/api/v1/issues/{key}/status", {"status": "in_progress"}).status_code
        == 200
    )
    assert (
        dev_client.post(f"/api/v1/issues/{key}/status", {"status": "in_review"}).status_code == 200
    )
    response = client_for(reviewer).post(f"/api/v1/issues/{key}/status", {"status": "resolved"})
    assert response.status_code == 200, response.json()
    assert response.json()["resolution"] == "fixed"

    issue = Issue.objects.get(project=project, number=1)
    assert issue.status == "resolved"
    kinds = list(issue.events.values_list("kind", "to_status"))
    assert kinds == [
        ("created", "open"),
        ("transitioned", "in_progress"),
        ("transitioned", "in_review"),
        ("transitioned", "resolved"),
    ]
    events = owner.get(f"/api/v1/issues/{key}/events").json()["results"]
    assert [e["to_status"] for e in events] == ["open", "in_progress", "in_review", "resolved"]

    options = owner.get(f"/api/v1/issues/{key}/transitions").json()
    assert {o["target"]: o["allowed"] for o in options} == {"closed": True, "open": True}

    response = owner.post(f"/api/v1/issues/{key}/comments", {"body": "Nice"}, format="json")
    assert response.status_code == 201
    assert IssueEvent.objects.filter(issue=issue, kind="commented").count() == 1
