"""Every caller kind x every project and member endpoint: the status, and no change on refusal."""

import pytest
from django.utils import timezone

from projects.models import Membership, Project, Role
from tests.factories import MembershipFactory, UserFactory
from tests.matrix import Case, assert_like_missing, check, fill_in, matrix, send

pytestmark = pytest.mark.django_db

CASES = [
    Case("project detail", "get", "/api/v1/projects/{key}"),
    Case("project update", "patch", "/api/v1/projects/{key}", {"name": "Renamed"}, "maintainer"),
    Case("project delete", "delete", "/api/v1/projects/{key}", allowed="owner", status=204),
    Case("archive", "post", "/api/v1/projects/{key}/archive", allowed="owner"),
    Case("unarchive", "post", "/api/v1/projects/{key}/unarchive", allowed="owner"),
    Case("permissions", "get", "/api/v1/projects/{key}/permissions/me"),
    Case("member list", "get", "/api/v1/projects/{key}/members"),
    Case(
        "member add",
        "post",
        "/api/v1/projects/{key}/members",
        {"username": "{newcomer}", "role": "reporter"},
        allowed="maintainer",
        status=201,
    ),
    Case(
        "member add owner",
        "post",
        "/api/v1/projects/{key}/members",
        {"username": "{newcomer}", "role": "owner"},
        allowed="owner",
        status=201,
    ),
    Case(
        "member role change",
        "patch",
        "/api/v1/projects/{key}/members/{target}",
        {"role": "reporter"},
        allowed="maintainer",
    ),
    Case(
        "owner demotion",
        "patch",
        "/api/v1/projects/{key}/members/{owner}",
        {"role": "developer"},
        allowed="owner",
    ),
    Case(
        "member remove",
        "delete",
        "/api/v1/projects/{key}/members/{target}",
        allowed="maintainer",
        status=204,
    ),
    Case("member detail", "get", "/api/v1/projects/{key}/members/{target}"),
]


@pytest.fixture
def world(project, client_as, case, kind, visibility):
    """The caller's client and the fillings of the case's URL, in a project with a
    developer (`target`), as the case needs it."""
    project.visibility = visibility
    project.save()
    target = UserFactory()
    MembershipFactory(project=project, user=target, role=Role.DEVELOPER)
    _user, client = client_as(project, kind, case.scope)
    if case.name == "owner demotion":
        # A second owner, so demoting the creator does not hit the last-owner rule.
        MembershipFactory(project=project, role=Role.OWNER)
    if case.name == "unarchive":
        project.archived_at = timezone.now()
        project.save()
    return client, {
        "key": project.key,
        "target": target.username,
        "owner": project.created_by.username,
        "newcomer": UserFactory().username,
    }


@matrix(CASES)
def test_permission_matrix(world, project, case, kind, visibility):
    client, fill = world
    response = check(client, case, kind, visibility, **fill)

    if response.status_code == 404:
        # Indistinguishable from a project that does not exist.
        missing = send(client, case, **{**fill, "key": "NOSUCH"}).json()
        assert_like_missing(response.json(), missing, fill_in(case.path, fill))
        assert project.name not in response.content.decode()
    elif case.name == "project delete" and response.status_code == 204:
        assert not Project.objects.filter(pk=project.pk).exists()


def test_anyone_may_leave_a_project(project, member_of, client_for):
    viewer = member_of(project, "viewer")
    response = client_for(viewer).delete(f"/api/v1/projects/{project.key}/members/{viewer}")
    assert response.status_code == 204
    assert not Membership.objects.filter(project=project, user=viewer).exists()


def test_maintainer_cannot_remove_an_owner(project, member_of, client_for):
    maintainer = member_of(project, "maintainer")
    owner = project.created_by
    response = client_for(maintainer).delete(f"/api/v1/projects/{project.key}/members/{owner}")
    assert response.status_code == 403
    assert Membership.objects.filter(project=project, user=owner, role=Role.OWNER).exists()


def test_archived_project_is_read_only(project, client_for):
    owner_client = client_for(project.created_by)
    owner_client.post(f"/api/v1/projects/{project.key}/archive")
    response = owner_client.patch(f"/api/v1/projects/{project.key}", {"name": "X"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "project_archived"
    newcomer = UserFactory()
    response = owner_client.post(
        f"/api/v1/projects/{project.key}/members",
        {"username": newcomer.username, "role": "viewer"},
        format="json",
    )
    assert response.status_code == 403
    assert not Membership.objects.filter(project=project, user=newcomer).exists()
    assert owner_client.get(f"/api/v1/projects/{project.key}").status_code == 200
