"""Every caller kind x every comment endpoint: the status, and no change on refusal."""

import pytest
from django.utils import timezone

from projects.models import Project, Role
from tests.factories import CommentFactory, IssueFactory, MembershipFactory, UserFactory
from tests.matrix import MAY, Case, assert_like_missing, check, fill_in, matrix, send

pytestmark = pytest.mark.django_db

CASES = [
    Case("list", "get", "/api/v1/issues/{issue}/comments"),
    Case(
        "create",
        "post",
        "/api/v1/issues/{issue}/comments",
        {"body": "New"},
        allowed="reporter",
        status=201,
    ),
    Case("detail", "get", "/api/v1/comments/{theirs}"),
    Case("edit own", "patch", "/api/v1/comments/{own}", {"body": "Edited"}, "reporter"),
    Case("edit another's", "patch", "/api/v1/comments/{theirs}", {"body": "Edited"}, "nobody"),
    Case("delete own", "delete", "/api/v1/comments/{own}", allowed="reporter", status=204),
    Case(
        "delete another's",
        "delete",
        "/api/v1/comments/{theirs}",
        allowed="maintainer",
        status=204,
    ),
]
WRITES = [case for case in CASES if case.method != "get"]
MISSING = {"issue": "NOSUCH-1", "theirs": 10**9, "own": 10**9 + 1}


@pytest.fixture
def world(project, client_as, case, kind, visibility):
    """A client for the caller kind, and an issue with one comment by the caller
    (`own`; by someone else for anonymous) and one by another member (`theirs`)."""
    project.visibility = visibility
    project.save()
    author = UserFactory()
    MembershipFactory(project=project, user=author, role=Role.REPORTER)
    issue = IssueFactory(project=project)
    user, client = client_as(project, kind, case.scope)
    theirs = CommentFactory(issue=issue, author=author, body="Secret remark")
    own = CommentFactory(issue=issue, author=user or author, body="My remark")
    return client, {"issue": issue.key, "theirs": theirs.pk, "own": own.pk}


@matrix(CASES)
def test_permission_matrix(world, case, kind, visibility):
    client, fill = world
    response = check(client, case, kind, visibility, **fill)

    if response.status_code >= 400:
        assert "Secret remark" not in response.content.decode()
        if response.status_code == 404:
            # Indistinguishable from an issue or comment that does not exist.
            missing = send(client, case, **MISSING).json()
            assert_like_missing(response.json(), missing, fill_in(case.path, fill))
    elif case.method == "get":
        assert "Secret remark" in response.content.decode()


@matrix(WRITES)
def test_archived_project_refuses_every_write(world, project, case, kind, visibility):
    client, fill = world
    Project.objects.filter(pk=project.pk).update(archived_at=timezone.now())

    response = check(client, case, kind, visibility, ok=403, **fill)

    if response.status_code == 403 and kind in MAY[case.allowed]:
        assert response.json()["code"] == "project_archived"
