"""Every caller kind x every attachment endpoint: the status, and no change on refusal."""

import pytest
from django.utils import timezone

from attachments import storage
from attachments.models import Attachment
from projects.models import Project, Role
from tests.factories import CommentFactory, IssueFactory, MembershipFactory, UserFactory
from tests.matrix import MAY, Case, assert_like_missing, check, fill_in, matrix, send

pytestmark = pytest.mark.django_db

SECRET = "secret-report.txt"
SCOPE = "attachments:write"
CASES = [
    Case("list", "get", "/api/v1/issues/{issue}/attachments"),
    Case("list on a comment", "get", "/api/v1/comments/{comment}/attachments"),
    Case(
        "upload",
        "post",
        "/api/v1/issues/{issue}/attachments",
        {"file": b"new bytes"},
        allowed="reporter",
        status=201,
        scope=SCOPE,
        format="multipart",
    ),
    Case(
        "upload on a comment",
        "post",
        "/api/v1/comments/{comment}/attachments",
        {"file": b"new bytes"},
        allowed="reporter",
        status=201,
        scope=SCOPE,
        format="multipart",
    ),
    Case("metadata", "get", "/api/v1/attachments/{theirs}"),
    Case("download", "get", "/api/v1/attachments/{theirs}/content"),
    Case("delete own", "delete", "/api/v1/attachments/{own}", "", "reporter", 204, scope=SCOPE),
    Case(
        "complete own",
        "post",
        "/api/v1/attachments/{own}/complete",
        allowed="reporter",
        scope=SCOPE,
    ),
    Case(
        "delete another's",
        "delete",
        "/api/v1/attachments/{theirs}",
        allowed="maintainer",
        status=204,
        scope=SCOPE,
    ),
]
WRITES = [case for case in CASES if case.method != "get"]
MISSING = {"issue": "NOSUCH-1", "comment": 10**9, "theirs": 10**9, "own": 10**9 + 1}


def stored(issue, uploader, name, data=b"the bytes") -> Attachment:
    key = Attachment.new_key()
    saved = storage.store_stream(iter([data]), key)
    return Attachment.objects.create(
        issue=issue, uploader=uploader, key=key, filename=name, status="available", **saved
    )


@pytest.fixture
def world(project, client_as, case, kind, visibility):
    """A client for the caller kind, and an issue with a comment, one attachment by the
    caller (`own`, an upload to complete; by someone else for anonymous) and one by
    another member (`theirs`)."""
    project.visibility = visibility
    project.save()
    author = UserFactory()
    MembershipFactory(project=project, user=author, role=Role.REPORTER)
    issue = IssueFactory(project=project)
    comment = CommentFactory(issue=issue, author=author)
    user, client = client_as(project, kind, case.scope)
    theirs = stored(issue, author, SECRET)
    own = stored(issue, user or author, "mine.txt")
    # A two-step upload whose file is in the store, for its uploader to complete.
    Attachment.objects.filter(pk=own.pk).update(
        status="pending", reason=Attachment.AWAITING_UPLOAD
    )
    return client, {"issue": issue.key, "comment": comment.pk, "theirs": theirs.pk, "own": own.pk}


@matrix(CASES)
def test_permission_matrix(world, case, kind, visibility):
    client, fill = world
    response = check(client, case, kind, visibility, **fill)

    if response.status_code >= 400:
        assert SECRET not in response.content.decode()
        if response.status_code == 404:
            # Indistinguishable from an attachment or issue that does not exist.
            missing = send(client, case, **MISSING).json()
            path = case.path.split("?")[0]
            assert_like_missing(response.json(), missing, fill_in(path, fill))
    elif case.name in ("list", "metadata"):
        assert SECRET in response.content.decode()


@matrix(WRITES)
def test_archived_project_refuses_every_write(world, project, case, kind, visibility):
    client, fill = world
    Project.objects.filter(pk=project.pk).update(archived_at=timezone.now())

    response = check(client, case, kind, visibility, ok=403, **fill)

    if response.status_code == 403 and kind in MAY[case.allowed]:
        assert response.json()["code"] == "project_archived"
