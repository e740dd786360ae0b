"""Every caller kind x every comment endpoint: the status, and no change on refusal."""

import pytest
from django.utils import timezone

from comments.models import Comment
from issues.models import IssueEvent
from projects.models import Project, Role
from tests.conftest import CALLERS
from tests.factories import CommentFactory, IssueFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

OK_FROM = {  # the lowest role that may, per endpoint
    "viewer": {"viewer", "reporter", "developer", "maintainer", "owner", "site_admin"},
    "reporter": {"reporter", "developer", "maintainer", "owner", "site_admin"},
    "maintainer": {"maintainer", "owner", "site_admin"},
    "nobody": set(),
}


def expected(kind, allowed_from, ok_status, visibility):
    if kind == "anonymous":
        return 401
    if kind == "outsider" and visibility == "internal":
        kind = "viewer"  # every signed-in user reads internal projects
    if kind in OK_FROM[allowed_from]:
        return ok_status
    if kind == "outsider":
        return 404
    return 403


def snapshot(project) -> tuple:
    comments = sorted(
        Comment.objects.filter(issue__project=project).values_list(
            "pk", "body", "edited", "author_id"
        )
    )
    events = IssueEvent.objects.filter(issue__project=project).count()
    return (comments, events)


ENDPOINTS = [
    # (name, method, path, body, lowest role allowed, success status)
    ("list", "get", "/api/v1/issues/{issue}/comments", None, "viewer", 200),
    ("create", "post", "/api/v1/issues/{issue}/comments", {"body": "New"}, "reporter", 201),
    ("detail", "get", "/api/v1/comments/{theirs}", None, "viewer", 200),
    ("edit own", "patch", "/api/v1/comments/{own}", {"body": "Edited"}, "reporter", 200),
    ("edit another's", "patch", "/api/v1/comments/{theirs}", {"body": "Edited"}, "nobody", 200),
    ("delete own", "delete", "/api/v1/comments/{own}", None, "reporter", 204),
    ("delete another's", "delete", "/api/v1/comments/{theirs}", None, "maintainer", 204),
]
WRITES = [e for e in ENDPOINTS if e[1] != "get"]


@pytest.fixture
def setup(project, caller, client_for):
    """A client for the caller kind, and an issue with one comment by the caller
    (`own`; by someone else for anonymous) and one by another member (`theirs`)."""

    def make(kind, visibility):
        project.visibility = visibility
        project.save()
        author = UserFactory()
        MembershipFactory(project=project, user=author, role=Role.REPORTER)
        issue = IssueFactory(project=project)
        user = caller(project, kind)
        theirs = CommentFactory(issue=issue, author=author, body="Secret remark")
        own = CommentFactory(issue=issue, author=user or author, body="My remark")
        fill = {"issue": issue.key, "theirs": theirs.pk, "own": own.pk}
        return client_for(user), fill

    return make


@pytest.mark.parametrize("visibility", ["private", "internal"])
@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize(
    "name,method,path,body,allowed_from,ok_status", ENDPOINTS, ids=[e[0] for e in ENDPOINTS]
)
def test_permission_matrix(
    setup, project, kind, visibility, name, method, path, body, allowed_from, ok_status
):
    client, fill = setup(kind, visibility)
    url = path.format(**fill)
    before = snapshot(project)

    response = getattr(client, method)(url, body, format="json")

    want = expected(kind, allowed_from, ok_status, visibility)
    assert response.status_code == want, response.content
    if want >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == want
        assert snapshot(project) == before, "a refused request changed something"
        assert "Secret remark" not in response.content.decode()
        if want == 404:
            # Indistinguishable from an issue or comment that does not exist.
            missing_fill = {"issue": "NOSUCH-1", "theirs": 10**9, "own": 10**9 + 1}
            missing_url = path.format(**missing_fill)
            missing = getattr(client, method)(missing_url, body, format="json")
            got, missing_body = response.json(), missing.json()
            assert got.pop("instance") == url
            missing_body.pop("instance")
            assert got == missing_body
    elif method == "get":
        assert snapshot(project) == before
        assert "Secret remark" in response.content.decode()
    else:
        assert snapshot(project) != before, "an allowed write changed nothing"


@pytest.mark.parametrize("visibility", ["private", "internal"])
@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize(
    "name,method,path,body,allowed_from,ok_status", WRITES, ids=[e[0] for e in WRITES]
)
def test_archived_project_refuses_every_write(
    setup, project, kind, visibility, name, method, path, body, allowed_from, ok_status
):
    client, fill = setup(kind, visibility)
    Project.objects.filter(pk=project.pk).update(archived_at=timezone.now())
    before = snapshot(project)

    response = getattr(client, method)(path.format(**fill), body, format="json")

    want = expected(kind, allowed_from, 403, visibility)
    assert response.status_code == want, response.content
    if want == 403 and kind in OK_FROM[allowed_from]:
        assert response.json()["code"] == "project_archived"
    assert snapshot(project) == before
