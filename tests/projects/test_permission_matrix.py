"""Every caller kind x every project and member endpoint: the status, and no change on refusal."""

import pytest
from django.utils import timezone

from projects.models import Membership, Project, Role
from tests.conftest import CALLERS
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

OK_FROM = {  # the lowest role that may, per endpoint
    "viewer": {"viewer", "reporter", "developer", "maintainer", "owner", "site_admin"},
    "maintainer": {"maintainer", "owner", "site_admin"},
    "owner": {"owner", "site_admin"},
}


def expected(kind, allowed_from, ok_status, visibility="private"):
    if kind == "anonymous":
        return 401
    if kind == "outsider" and visibility == "internal":
        kind = "viewer"  # every signed-in user reads internal projects
    if kind in OK_FROM[allowed_from]:
        return ok_status
    if kind == "outsider" and visibility == "private":
        return 404
    return 403


def snapshot(project):
    project.refresh_from_db()
    memberships = sorted(
        Membership.objects.filter(project=project).values_list("user__username", "role")
    )
    return (project.name, project.archived_at, memberships)


@pytest.fixture
def setup(project, caller, client_for):
    def make(kind, visibility="private"):
        project.visibility = visibility
        project.save()
        target = UserFactory()
        MembershipFactory(project=project, user=target, role=Role.DEVELOPER)
        user = caller(project, kind)
        return client_for(user), user, target

    return make


ENDPOINTS = [
    # (name, method, path, body, lowest role allowed, success status)
    ("project detail", "get", "/api/v1/projects/{key}", None, "viewer", 200),
    ("project update", "patch", "/api/v1/projects/{key}", {"name": "Renamed"}, "maintainer", 200),
    ("project delete", "delete", "/api/v1/projects/{key}", None, "owner", 204),
    ("archive", "post", "/api/v1/projects/{key}/archive", None, "owner", 200),
    ("unarchive", "post", "/api/v1/projects/{key}/unarchive", None, "owner", 200),
    ("permissions", "get", "/api/v1/projects/{key}/permissions/me", None, "viewer", 200),
    ("member list", "get", "/api/v1/projects/{key}/members", None, "viewer", 200),
    (
        "member add",
        "post",
        "/api/v1/projects/{key}/members",
        {"username": "{newcomer}", "role": "reporter"},
        "maintainer",
        201,
    ),
    (
        "member add owner",
        "post",
        "/api/v1/projects/{key}/members",
        {"username": "{newcomer}", "role": "owner"},
        "owner",
        201,
    ),
    (
        "member role change",
        "patch",
        "/api/v1/projects/{key}/members/{target}",
        {"role": "reporter"},
        "maintainer",
        200,
    ),
    (
        "owner demotion",
        "patch",
        "/api/v1/projects/{key}/members/{owner}",
        {"role": "developer"},
        "owner",
        200,
    ),
    (
        "member remove",
        "delete",
        "/api/v1/projects/{key}/members/{target}",
        None,
        "maintainer",
        204,
    ),
    ("member detail", "get", "/api/v1/projects/{key}/members/{target}", None, "viewer", 200),
]


@pytest.mark.parametrize("visibility", ["private", "internal"])
@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize(
    "name,method,path,body,allowed_from,ok_status", ENDPOINTS, ids=[e[0] for e in ENDPOINTS]
)
def test_permission_matrix(
    setup, project, kind, visibility, name, method, path, body, allowed_from, ok_status
):
    client, _user, target = setup(kind, visibility)
    if name == "owner demotion":
        # A second owner, so demoting the creator does not hit the last-owner rule.
        MembershipFactory(project=project, role=Role.OWNER)
    if name == "unarchive":
        project.archived_at = timezone.now()
        project.save()
    newcomer = UserFactory()
    fill = {
        "key": project.key,
        "target": target.username,
        "owner": project.created_by.username,
        "newcomer": newcomer.username,
    }
    url = path.format(**fill)
    data = {k: v.format(**fill) for k, v in body.items()} if body else None
    before = snapshot(project)

    response = getattr(client, method)(url, data, format="json")

    want = expected(kind, allowed_from, ok_status, visibility)
    assert response.status_code == want, response.content
    if want >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == want
        if method != "get":
            assert snapshot(project) == before, "a refused request changed something"
        if want == 404:
            # Indistinguishable from a project that does not exist.
            missing = getattr(client, method)(url.replace(project.key, "NOSUCH"), data, "json")
            body, missing_body = response.json(), missing.json()
            assert body.pop("instance") == url
            missing_body.pop("instance")
            assert body == missing_body
            assert project.name not in response.content.decode()
    elif method == "delete" and "members" not in url:
        assert not Project.objects.filter(pk=project.pk).exists()
    elif method != "get":
        assert snapshot(project) != before


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
