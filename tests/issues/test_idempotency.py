"""Idempotency-Key on issue creation: a retry replays the first response, and only to a
caller who may still see what it created (and still create it); likewise for projects and
comments."""

import pytest

from comments.models import Comment
from issues.models import Issue
from projects import services as project_services
from projects.models import Membership, Project, Role
from tests.factories import IssueFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def create(project, client_for, django_capture_on_commit_callbacks):
    """POST an issue with a key, running the commit hooks that store the record."""
    client = client_for(project.created_by)

    def post(url, body, key):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)

    return post


@pytest.mark.parametrize("where", ["project", "body"])
def test_a_retried_issue_creation_replays_the_first_response(project, create, where):
    if where == "project":
        url, body = f"/api/v1/projects/{project.key}/issues", {"title": "Once"}
    else:
        url, body = "/api/v1/issues", {"project": project.key, "title": "Once"}

    first = create(url, body, "retry-1")
    retry = create(url, body, "retry-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in first
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert list(Issue.objects.filter(project=project).values_list("title", flat=True)) == ["Once"]


def test_an_issue_key_reused_with_another_body_is_a_422(project, create):
    url = f"/api/v1/projects/{project.key}/issues"

    first = create(url, {"title": "One"}, "reused")
    other = create(url, {"title": "Another"}, "reused")

    assert first.status_code == 201
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Issue.objects.filter(project=project).count() == 1


# -- a replay passes the checks the request would pass now ---------------------------------


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """POST as `client` with a key, running the commit hooks that store the record."""

    def post(client, url, body, key="replay-key"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)

    return post


def issue_creation(project, where) -> tuple[str, dict]:
    if where == "project":
        return f"/api/v1/projects/{project.key}/issues", {"title": "Secret plans"}
    return "/api/v1/issues", {"project": project.key, "title": "Secret plans"}


def not_found_body(client) -> dict:
    """What any missing object answers, without the `instance` (its URL)."""
    response = client.get("/api/v1/issues/NOPE-1")
    assert response.status_code == 404
    return {k: v for k, v in response.json().items() if k != "instance"}


def assert_not_found(response, client, *secrets: str) -> None:
    assert response.status_code == 404
    assert "Idempotent-Replayed" not in response
    assert response["Content-Type"] == "application/problem+json"
    assert {k: v for k, v in response.json().items() if k != "instance"} == not_found_body(client)
    for secret in secrets:
        assert secret not in response.content.decode()


@pytest.mark.parametrize("where", ["project", "body"])
def test_a_member_removed_from_the_project_gets_a_404_not_the_replay(
    project, member_of, client_for, send, where
):
    reporter = member_of(project, "reporter")
    client = client_for(reporter)
    url, body = issue_creation(project, where)
    first = send(client, url, body)
    while_a_member = send(client, url, body)
    assert (first.status_code, while_a_member["Idempotent-Replayed"]) == (201, "true")
    Membership.objects.filter(project=project, user=reporter).delete()

    replay = send(client, url, body)

    assert_not_found(replay, client, "Secret plans", first.json()["key"])
    assert list(Issue.objects.filter(project=project).values_list("title", flat=True)) == [
        "Secret plans"
    ]


@pytest.mark.parametrize("where", ["project", "body"])
def test_a_replay_after_the_issue_was_deleted_is_a_404_and_creates_nothing(
    project, client_for, send, where
):
    client = client_for(project.created_by)
    url, body = issue_creation(project, where)
    first = send(client, url, body)
    Issue.objects.filter(pk=first.json()["id"]).delete()

    replay = send(client, url, body)

    assert_not_found(replay, client, "Secret plans")
    assert not Issue.objects.filter(project=project).exists()


@pytest.mark.parametrize("where", ["project", "body"])
@pytest.mark.parametrize(
    ("change", "code"), [("demoted", "permission_denied"), ("archived", "project_archived")]
)
def test_a_caller_who_may_no_longer_create_there_gets_the_403_a_new_request_gets(
    project, member_of, client_for, send, where, change, code
):
    """They still see the issue (GET works), but the request as sent is no longer
    allowed: the same 403 at either URL, not the first 201."""
    reporter = member_of(project, "reporter")
    client = client_for(reporter)
    url, body = issue_creation(project, where)
    first = send(client, url, body)
    if change == "demoted":
        Membership.objects.filter(project=project, user=reporter).update(role=Role.VIEWER)
    else:
        project_services.project_archive(project=project)

    replay = send(client, url, body)

    assert replay.status_code == 403
    assert "Idempotent-Replayed" not in replay
    assert replay.json()["code"] == code
    assert "Secret plans" not in replay.content.decode()
    assert client.get(f"/api/v1/issues/{first.json()['key']}").status_code == 200
    assert Issue.objects.filter(project=project).count() == 1


@pytest.mark.parametrize("change", ["deleted", "creator_removed"])
def test_a_project_replay_after_losing_the_project_is_a_404_and_creates_nothing(
    user, client_for, send, change
):
    client = client_for(user)
    body = {"key": "HUSH", "name": "Hush hush", "visibility": "private"}
    assert send(client, "/api/v1/projects", body).status_code == 201
    project = Project.objects.get(key="HUSH")
    if change == "deleted":
        project_services.project_delete(project=project)
    else:  # another owner removed the creator
        MembershipFactory(project=project, role=Role.OWNER)
        Membership.objects.filter(project=project, user=user).delete()

    replay = send(client, "/api/v1/projects", body)

    assert_not_found(replay, client, "HUSH", "Hush hush")
    left = [] if change == "deleted" else ["HUSH"]
    assert list(Project.objects.values_list("key", flat=True)) == left


@pytest.mark.parametrize("change", ["deleted", "author_removed"])
def test_a_comment_replay_after_losing_the_comment_is_a_404_and_creates_nothing(
    project, member_of, client_for, send, change
):
    issue = IssueFactory(project=project)
    reporter = member_of(project, "reporter")
    client = client_for(reporter)
    url = f"/api/v1/issues/{issue.key}/comments"
    first = send(client, url, {"body": "Secret words"})
    if change == "deleted":
        Comment.objects.filter(pk=first.json()["id"]).delete()
    else:
        Membership.objects.filter(project=project, user=reporter).delete()

    replay = send(client, url, {"body": "Secret words"})

    assert_not_found(replay, client, "Secret words")
    left = [] if change == "deleted" else ["Secret words"]
    assert list(Comment.objects.filter(issue=issue).values_list("body", flat=True)) == left
