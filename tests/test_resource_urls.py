"""Every representation carries its own `url`: absolute in answers, so a client (and the
browsable API) follows it to the resource's page; its path when rendered without a request."""

import pytest

from comments.serializers import CommentSerializer
from issues.serializers import IssueSerializer, LabelSerializer
from projects.serializers import MembershipSerializer, ProjectSerializer
from tests.factories import CommentFactory, IssueFactory, LabelFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(project, member_of):
    developer = member_of(project, "developer")
    issue = IssueFactory(project=project, reporter=developer)
    label = LabelFactory(project=project, name="ux")
    issue.labels.add(label)
    CommentFactory(issue=issue, author=developer)
    return {"project": project, "developer": developer, "issue": issue, "label": label}


def lists(project, issue) -> dict[str, str]:
    """Each list, and the field that names a row in it and its detail."""
    return {
        "/api/v1/projects": "key",
        f"/api/v1/projects/{project.key}/members": "user",
        f"/api/v1/projects/{project.key}/labels": "id",
        "/api/v1/issues": "key",
        f"/api/v1/projects/{project.key}/issues": "key",
        f"/api/v1/issues/{issue.key}/comments": "id",
    }


def test_every_row_links_to_its_own_page(world, client_for):
    project, issue = world["project"], world["issue"]
    client = client_for(world["developer"])

    for path, name in lists(project, issue).items():
        rows = client.get(path).json()["results"]
        assert rows, path
        for row in rows:
            assert row["url"].startswith("http://testserver/api/v1/"), row
            detail = client.get(row["url"])
            assert detail.status_code == 200, (row["url"], detail.content)
            assert (detail.json()[name], detail.json()["url"]) == (row[name], row["url"])


def test_answers_to_writes_carry_the_url(world, client_for, project):
    client = client_for(project.created_by)
    newcomer = UserFactory()

    created = client.post(f"/api/v1/projects/{project.key}/issues", {"title": "Linked"})
    added = client.post(
        f"/api/v1/projects/{project.key}/members",
        {"username": newcomer.username, "role": "viewer"},
    )

    assert (created.status_code, added.status_code) == (201, 201)
    issue = project.issues.get(title="Linked")
    assert created.json()["url"] == f"http://testserver/api/v1/issues/{issue.key}"
    assert project.memberships.filter(user=newcomer).exists()
    assert added.json()["url"] == (
        f"http://testserver/api/v1/projects/{project.key}/members/{newcomer.username}"
    )


def test_without_a_request_the_url_is_the_path(world):
    """Event payloads are rendered outside any request."""
    project, issue, label = world["project"], world["issue"], world["label"]
    membership = project.memberships.select_related("project", "user").get(user=world["developer"])
    comment = issue.comments.get()

    assert ProjectSerializer(project, context={}).data["url"] == f"/api/v1/projects/{project.key}"
    assert IssueSerializer(issue).data["url"] == f"/api/v1/issues/{issue.key}"
    assert LabelSerializer(label).data["url"] == (
        f"/api/v1/projects/{project.key}/labels/{label.pk}"
    )
    assert MembershipSerializer(membership).data["url"] == (
        f"/api/v1/projects/{project.key}/members/{world['developer'].username}"
    )
    assert CommentSerializer(comment).data["url"] == f"/api/v1/comments/{comment.pk}"


def test_the_url_never_carries_the_requests_format(world, client_for):
    issue = world["issue"]
    client = client_for(world["developer"])

    rows = client.get("/api/v1/issues", {"format": "json"}).json()["results"]
    detail = client.get(f"/api/v1/issues/{issue.key}", {"format": "json"}).json()

    assert [row["url"] for row in rows] == [f"http://testserver/api/v1/issues/{issue.key}"]
    assert detail["url"] == rows[0]["url"]


@pytest.mark.parametrize("secure", [False, True])
def test_a_list_builds_each_rows_url_as_detail_url_does(rf, secure):
    from api.links import detail_url, detail_urls

    request = rf.get("/api/v1/issues", secure=secure)
    for req in (request, None):
        url = detail_urls("issue-detail", req)
        for key in ("WEB-1", "ABCDEFGHIJ-123456"):
            assert url(key) == detail_url("issue-detail", key, request=req)
    assert detail_urls("issue-detail", request)("WEB-7").startswith(
        "https://" if secure else "http://"
    )
