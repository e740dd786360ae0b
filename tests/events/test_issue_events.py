"""Issue and label changes each record exactly one event, in their transaction."""

import pytest

from events.models import Event
from issues.models import Issue, Label
from tests.events.helpers import as_event_data
from tests.factories import IssueFactory, LabelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client_for, maintainer):
    return client_for(maintainer)


def types() -> list[str]:
    return list(Event.objects.values_list("type", flat=True))


def test_creating_an_issue_is_recorded_as_a_get_renders_it(project, api, maintainer):
    response = api.post(f"/api/v1/projects/{project.key}/issues", {"title": "T"}, format="json")

    assert response.status_code == 201, response.json()
    (event,) = Event.objects.all()
    assert (event.type, event.project, event.actor) == ("issue.created", project, maintainer)
    assert event.data == as_event_data(api.get(f"/api/v1/issues/{event.data['key']}").json())


def test_updating_records_the_changed_fields_old_values(project, api, maintainer):
    label = LabelFactory(project=project, name="bug")
    issue = IssueFactory(project=project, title="Old", priority=Issue.Priority.LOW)
    body = {"title": "New", "priority": "low", "labels": ["bug"]}

    response = api.patch(f"/api/v1/issues/{issue.key}", body, format="json")

    assert response.status_code == 200, response.json()
    (event,) = Event.objects.all()
    assert (event.type, event.actor, event.project) == ("issue.updated", maintainer, project)
    assert event.changes == {"title": "Old", "labels": []}  # priority did not change
    assert event.data == as_event_data(response.json())
    assert event.data["labels"] == [{"id": label.pk, "name": "bug", "color": label.color}]


def test_an_update_that_changes_nothing_records_nothing(project, api):
    issue = IssueFactory(project=project, title="Same")

    response = api.patch(f"/api/v1/issues/{issue.key}", {"title": "Same"}, format="json")

    assert response.status_code == 200, response.json()
    assert not Event.objects.exists()


def test_a_refused_update_records_nothing(project, api):
    issue = IssueFactory(project=project, title="Kept")

    response = api.patch(f"/api/v1/issues/{issue.key}", {"title": ""}, format="json")

    assert response.status_code == 400
    issue.refresh_from_db()
    assert issue.title == "Kept"
    assert not Event.objects.exists()


def test_a_transition_records_from_and_to(project, api, maintainer):
    issue = IssueFactory(project=project, assignee=maintainer)

    response = api.post(
        f"/api/v1/issues/{issue.key}/status", {"status": "in_progress"}, format="json"
    )

    assert response.status_code == 200, response.json()
    (event,) = Event.objects.all()
    assert (event.type, event.actor) == ("issue.transitioned", maintainer)
    assert event.changes == {"status": "open"}
    assert event.data["status"] == "in_progress"
    assert event.data == as_event_data(response.json())


def test_a_transition_with_a_comment_records_both(project, api, maintainer):
    issue = IssueFactory(project=project)
    body = {"status": "closed", "resolution": "obsolete", "comment": "See the other."}

    response = api.post(f"/api/v1/issues/{issue.key}/status", body, format="json")

    assert response.status_code == 200, response.json()
    comment, transition = Event.objects.all()
    assert (comment.type, comment.data["body"]) == ("comment.created", "See the other.")
    assert transition.type == "issue.transitioned"
    assert transition.changes == {"status": "open", "resolution": ""}
    assert (transition.data["status"], transition.data["resolution"]) == ("closed", "obsolete")


def test_a_refused_transition_records_nothing(project, api):
    issue = IssueFactory(project=project)

    response = api.post(f"/api/v1/issues/{issue.key}/status", {"status": "closed"}, format="json")

    assert response.status_code == 400, response.json()  # a resolution is required
    assert Issue.objects.get(pk=issue.pk).status == "open"
    assert not Event.objects.exists()


def test_deleting_an_issue_records_it_as_it_was(project, client_for):
    owner = project.created_by
    api = client_for(owner)
    issue = IssueFactory(project=project)
    data = as_event_data(api.get(f"/api/v1/issues/{issue.key}").json())

    assert api.delete(f"/api/v1/issues/{issue.key}").status_code == 204

    assert not Issue.objects.filter(pk=issue.pk).exists()
    (event,) = Event.objects.all()
    assert (event.type, event.project, event.actor, event.data) == (
        "issue.deleted",
        project,
        owner,
        data,
    )


def test_label_changes_are_recorded_once_each(project, api, maintainer):
    base = f"/api/v1/projects/{project.key}/labels"
    created = api.post(base, {"name": "bug", "color": "#FF0000"}, format="json")
    assert created.status_code == 201, created.json()
    url = f"{base}/{created.json()['id']}"
    updated = api.patch(url, {"name": "defect", "color": "#FF0000"}, format="json")
    assert updated.status_code == 200, updated.json()
    assert api.patch(url, {"name": "defect"}, format="json").status_code == 200  # no change
    assert api.delete(url).status_code == 204

    assert not Label.objects.filter(project=project).exists()
    added, changed, removed = Event.objects.all()
    assert [e.type for e in (added, changed, removed)] == [
        "label.created",
        "label.updated",
        "label.deleted",
    ]
    assert {e.actor for e in (added, changed, removed)} == {maintainer}
    assert added.data == as_event_data(created.json())
    assert (changed.data, changed.changes) == (as_event_data(updated.json()), {"name": "bug"})
    assert removed.data == as_event_data(updated.json())
