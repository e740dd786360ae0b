"""SQL budgets of the hot writes: the service owns the row lock, the issue is read once,
and the answer is built from the rows in hand (issue #13's budgets, SAVEPOINTs counted)."""

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from attachments.models import Attachment
from attachments.storage import attachments_storage
from comments.models import Comment
from issues.models import Issue, IssueEvent, IssueRelation
from tests.factories import IssueFactory, LabelFactory

pytestmark = pytest.mark.django_db

# Announcing the change (events.outbox): its INSERT, after the lock that orders event ids
# on PostgreSQL.
EVENT = 2 if connection.vendor == "postgresql" else 1
# The project, SAVEPOINT, the number (UPDATE ... RETURNING), the issue, its created event,
# RELEASE.
CREATE_ISSUE = 8 + EVENT
# With an assignee and labels: their lookups, the assignee's membership, the label links.
CREATE_ISSUE_WITH_ASSIGNEE_AND_LABELS = 10 + EVENT
# SAVEPOINT, the issue locked with the caller's role, its labels, UPDATE, the event, RELEASE.
TRANSITION = 8 + EVENT
# The issue with the caller's role, SAVEPOINT, the comment, its event, RELEASE.
ADD_COMMENT = 6 + EVENT
# On PostgreSQL the lock that serializes creations that could close a cycle.
CYCLE_LOCK = 1 if connection.vendor == "postgresql" else 0
# The issue with the caller's role, SAVEPOINT, the other issue, both locked, the existing
# relation, one step of the cycle check (one more per link of a longer chain), the
# relation, each side's history, the event, RELEASE.
RELATE = 10 + EVENT + CYCLE_LOCK
# The issue locked with the caller's role and its labels, the right, the current parent;
# then as RELATE (with its own SAVEPOINTs) plus the parent's checks: one parent, the
# chain's depth above and below, the open children; and the answer's relations.
PATCH_PARENT = 23 + EVENT + CYCLE_LOCK
# A direct upload: the issue, SAVEPOINT, the attachment, the issue's count, its history,
# the event, RELEASE (the bytes are stored before the transaction).
UPLOAD = 6 + EVENT
# A two-step upload's first step: the issue, SAVEPOINT, the attachment, the count, RELEASE
# (announced only once complete).
BEGIN_UPLOAD = 5
# Completing it: the attachment, the caller's role, SAVEPOINT, the attachment locked, its
# UPDATE, the history, the event, RELEASE.
COMPLETE_UPLOAD = 7 + EVENT


@pytest.fixture(autouse=True)
def _blocklist_in_the_cache(settings):
    settings.TOKEN_BLOCKLIST_USE_CACHE = True


@pytest.fixture
def api(client_for, maintainer):
    client = client_for(maintainer)
    # The first request caches the blocklist and the user, as a worker has them warm.
    assert client.get("/api/v1/me").status_code == 200
    return client


def test_create_issue(project, api, django_assert_max_num_queries):
    with django_assert_max_num_queries(CREATE_ISSUE):
        response = api.post(
            f"/api/v1/projects/{project.key}/issues", {"title": "Budget"}, format="json"
        )

    assert response.status_code == 201, response.json()
    issue = Issue.objects.get(project=project, number=response.json()["number"])
    assert response.json()["title"] == issue.title == "Budget"
    assert IssueEvent.objects.filter(issue=issue, kind="created").count() == 1


def test_create_issue_with_assignee_and_labels(
    project, api, maintainer, django_assert_max_num_queries
):
    LabelFactory(project=project, name="backend")
    LabelFactory(project=project, name="api")
    body = {"title": "Budget", "assignee": maintainer.username, "labels": ["backend", "api"]}

    with django_assert_max_num_queries(CREATE_ISSUE_WITH_ASSIGNEE_AND_LABELS):
        response = api.post(f"/api/v1/projects/{project.key}/issues", body, format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    issue = Issue.objects.get(project=project, number=data["number"])
    assert [label["name"] for label in data["labels"]] == ["api", "backend"]
    assert sorted(issue.labels.values_list("name", flat=True)) == ["api", "backend"]
    assert data["assignee"]["username"] == issue.assignee.username == maintainer.username


def test_a_created_issue_answers_as_it_reads(project, api, maintainer):
    """Built from the rows in hand, the 201's body is what a GET of the issue gives."""
    LabelFactory(project=project, name="backend")
    body = {"title": "Same", "assignee": maintainer.username, "labels": ["backend"]}
    created = api.post(f"/api/v1/projects/{project.key}/issues", body, format="json").json()

    assert api.get(f"/api/v1/issues/{created['key']}").json() == created


def test_transition(project, api, maintainer, django_assert_max_num_queries):
    issue = IssueFactory(project=project, assignee=maintainer)

    with django_assert_max_num_queries(TRANSITION):
        response = api.post(
            f"/api/v1/issues/{issue.key}/status", {"status": "in_progress"}, format="json"
        )

    assert response.status_code == 200, response.json()
    issue.refresh_from_db()
    assert response.json()["status"] == issue.status == "in_progress"
    assert api.get(f"/api/v1/issues/{issue.key}").json() == response.json()
    assert IssueEvent.objects.filter(issue=issue, kind="transitioned").count() == 1


def test_add_comment(project, api, django_assert_max_num_queries):
    issue = IssueFactory(project=project)

    with django_assert_max_num_queries(ADD_COMMENT):
        response = api.post(
            f"/api/v1/issues/{issue.key}/comments", {"body": "Seen it too."}, format="json"
        )

    assert response.status_code == 201, response.json()
    assert Comment.objects.get(issue=issue).body == "Seen it too."
    assert IssueEvent.objects.filter(issue=issue, kind="commented").count() == 1


def test_relate_two_issues(project, api, django_assert_max_num_queries):
    a, b = IssueFactory(project=project), IssueFactory(project=project)

    with django_assert_max_num_queries(RELATE):
        response = api.post(
            f"/api/v1/issues/{a.key}/relations", {"type": "blocks", "issue": b.key}, format="json"
        )

    assert response.status_code == 201, response.json()
    assert IssueRelation.objects.filter(source=a, target=b, type="blocks").exists()


def test_patch_the_parent(project, api, django_assert_max_num_queries):
    parent, issue = IssueFactory(project=project), IssueFactory(project=project)

    with django_assert_max_num_queries(PATCH_PARENT):
        response = api.patch(f"/api/v1/issues/{issue.key}", {"parent": parent.key}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["parent"]["key"] == parent.key
    assert IssueRelation.objects.filter(source=issue, target=parent, type="parent").exists()


def test_upload_a_file(project, api, django_assert_max_num_queries):
    issue = IssueFactory(project=project)
    upload = SimpleUploadedFile("trace.log", b"Traceback ...")

    with django_assert_max_num_queries(UPLOAD):
        response = api.post(
            f"/api/v1/issues/{issue.key}/attachments", {"file": upload}, format="multipart"
        )

    assert response.status_code == 201, response.json()
    assert Attachment.objects.get(issue=issue).size == len(b"Traceback ...")


def test_begin_and_complete_a_two_step_upload(
    project, api, s3_attachments, django_assert_max_num_queries
):
    issue = IssueFactory(project=project)
    data = b"Traceback ..."
    promise = {
        "filename": "trace.log",
        "size": len(data),
        "content_type": "text/plain",
        "sha256": hashlib.sha256(data).hexdigest(),
    }

    with django_assert_max_num_queries(BEGIN_UPLOAD):
        begun = api.post(f"/api/v1/issues/{issue.key}/attachments", promise, format="json")
    assert begun.status_code == 201, begun.json()
    attachments_storage().save(Attachment.objects.get().key, ContentFile(data))
    with django_assert_max_num_queries(COMPLETE_UPLOAD):
        done = api.post(f"/api/v1/attachments/{begun.json()['id']}/complete")

    assert done.status_code == 200, done.json()
    assert Attachment.objects.get().status == "available"
