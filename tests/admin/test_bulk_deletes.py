"""Deleting several rows from an admin list goes through the services, all or none: each
deletion is announced, and one refused (an archived project) keeps every row."""

import pytest
from django.contrib.messages import get_messages

from comments.models import Comment
from events.models import Event
from issues.models import Issue, Label
from projects.models import Project
from tests.factories import CommentFactory, IssueFactory, LabelFactory, ProjectFactory

pytestmark = pytest.mark.django_db

KINDS = {
    "issue": ("/admin/issues/issue/", Issue, IssueFactory, "issue.deleted"),
    "label": ("/admin/issues/label/", Label, LabelFactory, "label.deleted"),
    "comment": (
        "/admin/comments/comment/",
        Comment,
        lambda project: CommentFactory(issue=IssueFactory(project=project)),
        "comment.deleted",
    ),
}


def _make(kind, project):
    factory = KINDS[kind][2]
    return factory(project=project) if kind != "comment" else factory(project)


def _delete_selected(client, url, rows):
    return client.post(
        url,
        {"action": "delete_selected", "_selected_action": [row.pk for row in rows], "post": "yes"},
    )


@pytest.mark.parametrize("kind", KINDS)
def test_deleting_selected_rows_announces_each(kind, admin_client, project):
    url, model, _, event = KINDS[kind]
    rows = [_make(kind, project) for _ in range(2)]

    response = _delete_selected(admin_client, url, rows)

    assert response.status_code == 302
    assert not model.objects.filter(pk__in=[row.pk for row in rows]).exists()
    assert Event.objects.filter(type=event).count() == 2


@pytest.mark.parametrize("kind", KINDS)
def test_one_refused_deletion_keeps_every_selected_row(kind, admin_client, project):
    url, model, _, event = KINDS[kind]
    archived = ProjectFactory()
    # The deletable row comes first in the list's order, so it is deleted before the
    # refusal, which must undo it.
    deletable, refused = _make(kind, project), _make(kind, archived)
    if kind == "issue":  # newest first
        Issue.objects.filter(pk=deletable.pk).update(updated_at="2031-01-01T00:00:00Z")
    if kind == "label":  # by name
        Label.objects.filter(pk=deletable.pk).update(name="a-first")
        Label.objects.filter(pk=refused.pk).update(name="z-last")
    rows = [deletable, refused]
    Project.objects.filter(pk=archived.pk).update(archived_at="2030-01-01T00:00:00Z")

    response = _delete_selected(admin_client, url, rows)

    assert response.status_code == 302
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert "This project is archived and read-only." in messages
    assert model.objects.filter(pk__in=[row.pk for row in rows]).count() == 2
    assert not Event.objects.filter(type=event).exists()
