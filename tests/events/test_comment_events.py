"""Comment changes each record exactly one event, in their transaction."""

import pytest

from comments.models import Comment
from events.models import Event
from tests.events.helpers import as_event_data
from tests.factories import CommentFactory, IssueFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue(project):
    return IssueFactory(project=project)


def test_commenting_is_recorded_as_a_get_renders_it(issue, reporter, client_for):
    api = client_for(reporter)
    response = api.post(f"/api/v1/issues/{issue.key}/comments", {"body": "Seen"}, format="json")

    assert response.status_code == 201, response.json()
    (event,) = Event.objects.all()
    assert (event.type, event.project, event.actor) == ("comment.created", issue.project, reporter)
    assert event.data == as_event_data(response.json())
    assert event.data["issue"] == issue.key
    assert event.data == as_event_data(api.get(f"/api/v1/comments/{response.json()['id']}").json())


def test_editing_records_the_old_body(issue, reporter, client_for):
    comment = CommentFactory(issue=issue, author=reporter, body="Old")
    response = client_for(reporter).patch(
        f"/api/v1/comments/{comment.pk}", {"body": "New"}, format="json"
    )

    assert response.status_code == 200, response.json()
    (event,) = Event.objects.all()
    assert (event.type, event.actor, event.changes) == (
        "comment.updated",
        reporter,
        {"body": "Old"},
    )
    assert event.data == as_event_data(response.json())
    assert event.data["body"] == "New"


def test_an_edit_that_changes_nothing_records_nothing(issue, reporter, client_for):
    comment = CommentFactory(issue=issue, author=reporter, body="Same")
    response = client_for(reporter).patch(
        f"/api/v1/comments/{comment.pk}", {"body": "Same"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert not Event.objects.exists()


def test_deleting_is_recorded_with_the_comment_as_it_was(issue, reporter, member_of, client_for):
    maintainer = member_of(issue.project, "maintainer")
    comment = CommentFactory(issue=issue, author=reporter, body="Spam")
    api = client_for(maintainer)
    data = as_event_data(api.get(f"/api/v1/comments/{comment.pk}").json())

    assert api.delete(f"/api/v1/comments/{comment.pk}").status_code == 204

    assert not Comment.objects.filter(pk=comment.pk).exists()
    (event,) = Event.objects.all()
    assert (event.type, event.project, event.actor) == (
        "comment.deleted",
        issue.project,
        maintainer,
    )
    assert event.data == data


def test_a_refused_comment_records_nothing(issue, project, reporter, client_for):
    project.archived_at = issue.created_at
    project.save()

    response = client_for(reporter).post(
        f"/api/v1/issues/{issue.key}/comments", {"body": "Late"}, format="json"
    )

    assert response.status_code == 403
    assert not Comment.objects.exists()
    assert not Event.objects.exists()
