"""Project and membership changes each record exactly one event, in their transaction."""

import pytest
from django.db import transaction

from events.models import Event
from projects import services
from projects.models import Membership, Project, Role
from tests.events.helpers import as_event_data
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def only_event(**filters) -> Event:
    """The one event there is (of these filters); fails if there are more or none."""
    (event,) = Event.objects.filter(**filters)
    return event


def test_creating_a_project_records_it_as_a_get_renders_it(user, user_client):
    body = {"key": "WEB", "name": "Web", "visibility": "internal"}
    response = user_client.post("/api/v1/projects", body, format="json")

    assert response.status_code == 201, response.json()
    event = only_event()
    project = Project.objects.get(key="WEB")
    assert (event.type, event.project, event.project_key) == ("project.created", project, "WEB")
    assert event.actor == user
    assert event.changes is None
    # As a GET answers, but with no caller to have a role.
    assert event.data == as_event_data(user_client.get("/api/v1/projects/WEB").json(), role=None)


def test_updating_a_project_records_the_old_values(project, user_client, client_for):
    owner = project.created_by
    old_name = project.name
    response = client_for(owner).patch(
        f"/api/v1/projects/{project.key}",
        {"name": "Renamed", "description": project.description},
        format="json",
    )

    assert response.status_code == 200, response.json()
    event = only_event()
    assert (event.type, event.actor, event.project) == ("project.updated", owner, project)
    assert event.changes == {"name": old_name}  # the unchanged description is not listed
    assert event.data["name"] == "Renamed"
    assert event.data == as_event_data(response.json(), role=None)


def test_an_update_that_changes_nothing_records_nothing(project, client_for):
    response = client_for(project.created_by).patch(
        f"/api/v1/projects/{project.key}", {"name": project.name}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert not Event.objects.exists()


def test_a_refused_update_records_nothing(project, client_for):
    response = client_for(project.created_by).patch(
        f"/api/v1/projects/{project.key}", {"visibility": "public"}, format="json"
    )

    assert response.status_code == 400
    assert not Event.objects.exists()


def test_archiving_and_unarchiving_are_recorded_once_each(project, client_for):
    api = client_for(project.created_by)
    for _ in range(2):  # the second of each changes nothing
        assert api.post(f"/api/v1/projects/{project.key}/archive").status_code == 200
    for _ in range(2):
        assert api.post(f"/api/v1/projects/{project.key}/unarchive").status_code == 200

    archived, unarchived = Event.objects.all()
    assert (archived.type, archived.actor) == ("project.archived", project.created_by)
    assert archived.data["archived_at"] is not None
    assert (unarchived.type, unarchived.project) == ("project.unarchived", project)
    assert unarchived.data["archived_at"] is None


def test_deleting_a_project_keeps_its_event_with_the_key(project, client_for):
    project_id, key = project.pk, project.key
    api = client_for(project.created_by)
    data = as_event_data(api.get(f"/api/v1/projects/{key}").json(), role=None)

    assert api.delete(f"/api/v1/projects/{key}").status_code == 204

    assert not Project.objects.filter(pk=project_id).exists()
    event = only_event()
    assert (event.type, event.project, event.project_key) == ("project.deleted", None, key)
    assert (event.actor, event.data) == (project.created_by, data)


def test_adding_a_member_is_recorded(project, client_for):
    newcomer = UserFactory()
    response = client_for(project.created_by).post(
        f"/api/v1/projects/{project.key}/members",
        {"username": newcomer.username, "role": "developer"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    event = only_event()
    assert (event.type, event.project, event.actor) == (
        "member.added",
        project,
        project.created_by,
    )
    assert event.data == as_event_data(response.json())
    assert event.data["user"]["username"] == newcomer.username


def test_changing_a_role_records_the_old_one(project, client_for, member_of):
    member = member_of(project, "viewer")
    url = f"/api/v1/projects/{project.key}/members/{member.username}"
    response = client_for(project.created_by).patch(url, {"role": "developer"}, format="json")

    assert response.status_code == 200, response.json()
    event = only_event()
    assert (event.type, event.actor) == ("member.updated", project.created_by)
    assert event.changes == {"role": "viewer"}
    assert event.data == as_event_data(response.json())
    assert event.data["role"] == "developer"


def test_keeping_a_role_records_nothing(project, client_for, member_of):
    member = member_of(project, "viewer")
    url = f"/api/v1/projects/{project.key}/members/{member.username}"
    response = client_for(project.created_by).patch(url, {"role": "viewer"}, format="json")

    assert response.status_code == 200, response.json()
    assert not Event.objects.exists()


def test_removing_a_member_is_recorded(project, client_for, member_of):
    member = member_of(project, "reporter")
    url = f"/api/v1/projects/{project.key}/members/{member.username}"

    assert client_for(project.created_by).delete(url).status_code == 204

    assert not Membership.objects.filter(project=project, user=member).exists()
    event = only_event()
    assert (event.type, event.project, event.actor) == (
        "member.removed",
        project,
        project.created_by,
    )
    assert event.data["user"]["username"] == member.username
    assert event.data["role"] == "reporter"


def test_refusing_to_remove_the_last_owner_records_nothing(project, client_for):
    url = f"/api/v1/projects/{project.key}/members/{project.created_by.username}"

    assert client_for(project.created_by).delete(url).status_code == 400

    assert Membership.objects.filter(project=project, role=Role.OWNER).count() == 1
    assert not Event.objects.exists()


def test_a_rolled_back_change_leaves_no_event(project):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.project_archive(project=project, actor=project.created_by)
        assert Event.objects.filter(type="project.archived").count() == 1
        raise RuntimeError("the caller's transaction fails later")

    project.refresh_from_db()
    assert project.archived_at is None
    assert not Event.objects.exists()


def test_services_called_without_an_actor_record_none(project):
    services.project_update(project=project, name="By a command")

    assert only_event().actor is None


@pytest.mark.django_db(transaction=True)
def test_an_event_is_only_recorded_inside_a_transaction(project):
    from events.outbox import event_emit

    with pytest.raises(RuntimeError, match="inside the transaction"):
        event_emit(type="project.updated", project=project, actor=None, data={})

    assert not Event.objects.exists()
