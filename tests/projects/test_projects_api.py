import pytest

from projects.models import Membership, Project, Role
from projects.rights import RIGHTS
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_create_project_makes_the_creator_its_owner(user, user_client):
    response = user_client.post(
        "/api/v1/projects",
        {"key": "WEB", "name": "Website", "description": "The site", "visibility": "internal"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["key"] == "WEB"
    assert body["role"] == "owner"
    assert body["created_by"] == {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "type": "user",
    }
    project = Project.objects.get(key="WEB")
    assert project.visibility == "internal"
    assert Membership.objects.get(project=project).user == user
    assert Membership.objects.get(project=project).role == Role.OWNER


def test_create_ignores_fields_a_client_must_not_set(user, other_user, user_client):
    response = user_client.post(
        "/api/v1/projects",
        {
            "key": "API",
            "name": "API",
            "id": 999,
            "created_by": other_user.pk,
            "role": "viewer",
            "archived_at": "2020-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201
    project = Project.objects.get(key="API")
    assert project.pk != 999
    assert project.created_by == user
    assert project.archived_at is None
    assert Membership.objects.get(project=project, user=user).role == Role.OWNER


@pytest.mark.parametrize("key", ["W", "web", "1WEB", "WEB-1", "TOOLONGKEY1", "", "WÉB"], ids=repr)
def test_create_rejects_a_malformed_key(user_client, key):
    response = user_client.post("/api/v1/projects", {"key": key, "name": "X"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "key"
    assert not Project.objects.exists()


def test_create_rejects_a_duplicate_key(user_client, project):
    response = user_client.post(
        "/api/v1/projects", {"key": project.key, "name": "Again"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "key"
    assert Project.objects.filter(key=project.key).count() == 1


def test_key_cannot_change(project, client_for):
    client = client_for(project.created_by)
    response = client.patch(f"/api/v1/projects/{project.key}", {"key": "NEW"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "key"
    assert Project.objects.filter(key=project.key).exists()


def test_update_changes_settings(project, client_for):
    response = client_for(project.created_by).patch(
        f"/api/v1/projects/{project.key}",
        {"name": "New name", "visibility": "internal", "created_by": None},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["name"] == "New name"
    project.refresh_from_db()
    assert (project.name, project.visibility) == ("New name", "internal")
    assert project.created_by is not None


def test_lookup_by_numeric_id_and_lowercase_key(project, client_for):
    client = client_for(project.created_by)
    assert client.get(f"/api/v1/projects/{project.pk}").json()["key"] == project.key
    assert client.get(f"/api/v1/projects/{project.key.lower()}").json()["key"] == project.key


def test_list_shows_only_visible_projects_with_the_callers_role(user, user_client):
    mine = ProjectFactory(key="MINE")
    MembershipFactory(project=mine, user=user, role=Role.DEVELOPER)
    ProjectFactory(key="INTERNAL", visibility="internal")
    ProjectFactory(key="SECRET", visibility="private")
    archived = ProjectFactory(key="OLD", visibility="internal")
    archived.archived_at = archived.created_at
    archived.save()

    response = user_client.get("/api/v1/projects")

    assert response.status_code == 200
    roles = {item["key"]: item["role"] for item in response.json()["results"]}
    assert roles == {"MINE": "developer", "INTERNAL": "viewer"}
    assert response.json()["count"] == 2

    archived = user_client.get("/api/v1/projects?archived=true").json()["results"]
    assert [item["key"] for item in archived] == ["OLD"]


def test_site_admin_sees_every_project_as_owner(site_admin, client_for):
    ProjectFactory(key="SECRET", visibility="private")
    results = client_for(site_admin).get("/api/v1/projects").json()["results"]
    assert [(item["key"], item["role"]) for item in results] == [("SECRET", "owner")]


def test_anonymous_callers_get_401(api_client):
    response = api_client.get("/api/v1/projects")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("page_size", [1, 100])
def test_project_list_query_count_is_constant(
    user, user_client, django_assert_max_num_queries, page_size
):
    for n in range(30):
        project = ProjectFactory(key=f"K{n:02d}", visibility="internal" if n % 2 else "private")
        MembershipFactory(project=project, user=user, role=Role.DEVELOPER)
    # token blocklist (without Redis), user, count, page
    with django_assert_max_num_queries(4):
        response = user_client.get(f"/api/v1/projects?page_size={page_size}")
    assert len(response.json()["results"]) == min(page_size, 30)


@pytest.mark.parametrize(
    "role, allowed, conditional",
    [
        (
            "viewer",
            {"view_project", "watch", "export_issues"},
            {"leave_project": ["self"], "view_export": ["requester"]},
        ),
        (
            "reporter",
            {"view_project", "create_issue", "comment", "attach", "watch", "export_issues"},
            {
                "leave_project": ["self"],
                "edit_issue_text": ["reporter"],
                "close_issue": ["reporter"],
                "reopen_issue": ["reporter"],
                "edit_comment": ["author"],
                "delete_comment": ["author"],
                "complete_upload": ["uploader"],
                "delete_attachment": ["uploader"],
                "view_export": ["requester"],
            },
        ),
        (
            "developer",
            {
                "view_project",
                "create_issue",
                "assign_issue",
                "edit_issue",
                "edit_issue_text",
                "reopen_issue",
                "relate_issues",
                "comment",
                "attach",
                "watch",
                "export_issues",
            },
            {
                "leave_project": ["self"],
                "start_issue": ["assignee"],
                "stop_issue": ["assignee"],
                "submit_issue_for_review": ["assignee"],
                "request_changes": ["not_assignee"],
                "resolve_issue": ["not_assignee"],
                "close_issue": ["reporter"],
                "edit_comment": ["author"],
                "delete_comment": ["author"],
                "complete_upload": ["uploader"],
                "delete_attachment": ["uploader"],
                "view_export": ["requester"],
            },
        ),
        (
            "owner",
            set(RIGHTS)
            - {"leave_project", "submit_issue_for_review", "edit_comment", "complete_upload"},
            {
                "leave_project": ["self"],
                "submit_issue_for_review": ["assignee"],
                "edit_comment": ["author"],
                "complete_upload": ["uploader"],
            },
        ),
    ],
)
def test_permissions_me_lists_the_callers_actions(
    project, member_of, client_for, role, allowed, conditional
):
    user = project.created_by if role == "owner" else member_of(project, role)
    body = client_for(user).get(f"/api/v1/projects/{project.key}/permissions/me").json()
    assert body["role"] == role
    assert set(body["actions"]) == allowed
    assert body["conditional_actions"] == conditional


def test_permissions_me_on_an_archived_project(project, client_for):
    project.archived_at = project.created_at
    project.save()
    body = client_for(project.created_by).get(f"/api/v1/projects/{project.key}/permissions/me")
    assert set(body.json()["actions"]) == {
        "view_project",
        "view_webhooks",
        "archive_project",
        "delete_project",
        "watch",
        "export_issues",
        "view_export",
        "view_imports",
    }


def test_outsider_of_internal_project_acts_as_viewer(client_for):
    project = ProjectFactory(visibility="internal")
    body = client_for(UserFactory()).get(f"/api/v1/projects/{project.key}/permissions/me").json()
    # Not a member: nothing to leave.
    assert body == {
        "role": "viewer",
        "actions": ["view_project", "export_issues", "watch"],
        "conditional_actions": {"view_export": ["requester"]},
    }


def test_archive_and_unarchive(project, client_for):
    client = client_for(project.created_by)
    body = client.post(f"/api/v1/projects/{project.key}/archive").json()
    assert body["archived_at"] is not None
    project.refresh_from_db()
    assert project.archived_at is not None
    assert client.get("/api/v1/projects").json()["count"] == 0

    body = client.post(f"/api/v1/projects/{project.key}/unarchive").json()
    assert body["archived_at"] is None
    project.refresh_from_db()
    assert project.archived_at is None
