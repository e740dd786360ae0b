"""OWASP API3:2023 Broken Object Property Level Authorization.

Mass assignment: properties a client must not set (role, status, reporter, number,
project, created_by, author, ids, timestamps, counters) are ignored or refused in every
write, and the stored object keeps its value. Exposure: no response carries a password
hash, an internal field (search_vector, last_issue_number, flags), or the email of anyone
but the caller at /me; everywhere else a user is {id, username, display_name}.
"""

import json

import pytest

from accounts.models import User
from comments.models import Comment
from issues.models import Issue, Label
from projects.models import Membership, Project, Role
from tests.factories import CommentFactory, IssueFactory, LabelFactory, ProjectFactory
from tests.security.contract import generate_schema

pytestmark = pytest.mark.django_db

USER_SUMMARY = {"id", "username", "display_name", "type"}
INTERNAL = {"password", "search_vector", "last_issue_number", "is_staff", "is_superuser"}


@pytest.fixture
def world(project, owner, member_of, other_user):
    """A project with a member, an assigned and labelled issue, a comment and history."""
    developer = member_of(project, "developer")
    label = LabelFactory(project=project, name="bug")
    issue = IssueFactory(project=project, reporter=owner, assignee=developer)
    issue.labels.add(label)
    comment = CommentFactory(issue=issue, author=developer)
    elsewhere = ProjectFactory(key="ELSE", created_by=other_user)
    return {
        "project": project,
        "developer": developer,
        "label": label,
        "issue": issue,
        "comment": comment,
        "elsewhere": elsewhere,
    }


def test_me_cannot_raise_its_own_role_or_flags(owner_client, owner):
    body = {
        "role": "admin",
        "is_staff": True,
        "is_superuser": True,
        "is_active": True,
        "username": "renamed",
        "id": 1,
        "date_joined": "2000-01-01T00:00:00Z",
        "password": "new password 123",
        "display_name": "Allowed",
    }
    response = owner_client.patch("/api/v1/me", body, format="json")
    assert response.json()["display_name"] == "Allowed"
    stored = User.objects.get(pk=owner.pk)
    assert (stored.role, stored.is_staff, stored.is_superuser) == ("user", False, False)
    assert (stored.username, stored.pk, stored.date_joined) == (
        owner.username,
        owner.pk,
        owner.date_joined,
    )
    assert stored.password == owner.password


def test_registration_cannot_choose_role_or_flags(api_client):
    body = {
        "username": "newcomer",
        "email": "newcomer@example.com",
        "password": "a long passphrase",
        "role": "admin",
        "is_staff": True,
        "is_superuser": True,
    }
    response = api_client.post("/api/v1/auth/register", body, format="json")
    assert response.json()["role"] == "user"
    stored = User.objects.get(username="newcomer")
    assert (stored.role, stored.is_staff, stored.is_superuser) == ("user", False, False)


def test_project_creation_ignores_what_the_server_sets(owner_client, owner, other_user):
    body = {
        "key": "MASS",
        "name": "Mass",
        "id": 424242,
        "created_by": other_user.pk,
        "last_issue_number": 99,
        "archived_at": "2000-01-01T00:00:00Z",
        "created_at": "2000-01-01T00:00:00Z",
        "role": "viewer",
    }
    response = owner_client.post("/api/v1/projects", body, format="json")
    assert response.json()["role"] == "owner"
    project = Project.objects.get(key="MASS")
    assert project.pk != 424242
    assert (project.created_by, project.last_issue_number, project.archived_at) == (owner, 0, None)
    assert project.created_at.year > 2000
    assert list(project.memberships.values_list("user", "role")) == [(owner.pk, Role.OWNER)]


def test_project_edits_ignore_what_the_server_sets(owner_client, world, other_user):
    project = world["project"]
    before = Project.objects.values().get(pk=project.pk)
    body = {
        "created_by": other_user.pk,
        "last_issue_number": 99,
        "archived_at": "2000-01-01T00:00:00Z",
        "id": 424242,
        "role": "viewer",
        "name": "Renamed",
    }
    response = owner_client.patch(f"/api/v1/projects/{project.key}", body, format="json")
    assert response.json()["name"] == "Renamed"
    after = Project.objects.values().get(pk=project.pk)
    assert {**before, "name": "Renamed", "updated_at": after["updated_at"]} == after
    key_change = owner_client.patch(f"/api/v1/projects/{project.key}", {"key": "NEW"})
    assert key_change.json()["errors"][0]["field"] == "key"
    assert Project.objects.filter(key=project.key).exists()


@pytest.mark.parametrize(
    "smuggled",
    [
        {"number": 99},
        {"reporter": "OTHER"},
        {"reporter": {"id": 0}},
        {"id": 424242},
        {"resolution": "fixed"},
        {"created_at": "2000-01-01T00:00:00Z"},
        {"closed_at": "2000-01-01T00:00:00Z"},
        {"search_vector": "'x':1"},
        {"key": "ELSE-1"},
    ],
)
def test_issue_creation_ignores_what_the_server_sets(owner_client, world, other_user, smuggled):
    project = world["project"]
    smuggled = {k: other_user.username if v == "OTHER" else v for k, v in smuggled.items()}
    body = {"title": "Smuggler", **smuggled}
    response = owner_client.post(f"/api/v1/projects/{project.key}/issues", body, format="json")
    assert response.status_code == 201
    issue = Issue.objects.get(title="Smuggler")
    assert (issue.project, issue.number, issue.reporter) == (project, 2, project.created_by)
    assert (issue.status, issue.resolution, issue.closed_at) == ("open", "", None)
    assert issue.pk != 424242 and issue.created_at.year > 2000
    assert response.json()["key"] == f"{project.key}-2"


def test_an_issue_cannot_be_moved_to_another_project_or_renumbered(owner_client, world):
    issue, elsewhere = world["issue"], world["elsewhere"]
    before = Issue.objects.values().get(pk=issue.pk)
    body = {
        "project": elsewhere.key,
        "number": 7,
        "reporter": "someone",
        "resolution": "fixed",
        "resolved_at": "2000-01-01T00:00:00Z",
        "id": 424242,
    }
    response = owner_client.patch(f"/api/v1/issues/{issue.key}", body, format="json")
    assert response.status_code == 200
    after = Issue.objects.values().get(pk=issue.pk)
    assert after == {**before, "updated_at": after["updated_at"]}
    assert not elsewhere.issues.exists()


@pytest.mark.parametrize("url", ["/api/v1/issues/{key}", "/api/v1/projects/{project}/issues"])
def test_status_is_refused_outside_the_workflow(owner_client, world, url):
    issue = world["issue"]
    method = "patch" if "{key}" in url else "post"
    url = url.format(key=issue.key, project=issue.project.key)
    body = {"title": "Done already", "status": "closed"}
    response = getattr(owner_client, method)(url, body, format="json")
    assert response.json()["errors"][0]["field"] == "status"
    assert list(Issue.objects.values_list("status", flat=True)) == ["open"]
    assert not Issue.objects.filter(title="Done already").exists()


def test_a_comment_keeps_its_author_issue_and_history(client_for, world, other_user):
    comment = world["comment"]
    before = Comment.objects.values().get(pk=comment.pk)
    body = {
        "body": "Edited",
        "author": other_user.pk,
        "issue": "ELSE-1",
        "edited": False,
        "created_at": "2000-01-01T00:00:00Z",
        "id": 424242,
    }
    client = client_for(world["developer"])
    response = client.patch(f"/api/v1/comments/{comment.pk}", body, format="json")
    assert response.json()["edited"] is True
    after = Comment.objects.values().get(pk=comment.pk)
    assert after == {**before, "body": "Edited", "edited": True, "updated_at": after["updated_at"]}


def test_a_label_stays_in_its_project(owner_client, world):
    label, elsewhere = world["label"], world["elsewhere"]
    url = f"/api/v1/projects/{world['project'].key}/labels/{label.pk}"
    body = {"project": elsewhere.pk, "id": 424242, "name": "defect"}
    response = owner_client.patch(url, body, format="json")
    assert response.json()["name"] == "defect"
    assert Label.objects.values_list("project", "pk").get(name="defect") == (
        world["project"].pk,
        label.pk,
    )


def test_a_membership_keeps_its_user_and_project(owner_client, world, other_user):
    developer = world["developer"]
    url = f"/api/v1/projects/{world['project'].key}/members/{developer.username}"
    body = {"role": "reporter", "user": other_user.pk, "project": world["elsewhere"].pk}
    response = owner_client.patch(url, body, format="json")
    assert response.json()["user"]["username"] == developer.username
    membership = Membership.objects.get(user=developer)
    assert (membership.project, membership.role) == (world["project"], Role.REPORTER)
    assert not Membership.objects.filter(user=other_user, project=world["project"]).exists()


def _walk(value, path=""):
    """Every dict in a JSON document, with where it is."""
    if isinstance(value, dict):
        yield path, value
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def test_responses_show_users_as_summaries_and_nothing_internal(client_for, world):
    """Walks every read a member makes: users are {id, username, display_name}, and no
    response holds a password hash, an email or an internal field."""
    project, issue, comment = world["project"], world["issue"], world["comment"]
    client = client_for(world["developer"])
    client.post(f"/api/v1/issues/{issue.key}/status", {"status": "in_progress"}, format="json")
    reads = [
        "/api/v1/projects",
        f"/api/v1/projects/{project.key}",
        f"/api/v1/projects/{project.key}/permissions/me",
        f"/api/v1/projects/{project.key}/members",
        f"/api/v1/projects/{project.key}/members/{project.created_by.username}",
        f"/api/v1/projects/{project.key}/labels",
        f"/api/v1/projects/{project.key}/issues",
        "/api/v1/issues",
        "/api/v1/issues?cursor=",
        f"/api/v1/issues/{issue.key}",
        f"/api/v1/issues/{issue.key}/transitions",
        f"/api/v1/issues/{issue.key}/events",
        f"/api/v1/issues/{issue.key}/comments",
        f"/api/v1/comments/{comment.pk}",
    ]
    hashes = [u.password for u in User.objects.all()]
    emails = [u.email for u in User.objects.all()]
    for url in reads:
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        assert not any(secret in text for secret in hashes + emails), url
        assert "argon2" not in text and "md5$" not in text and "pbkdf2" not in text, url
        for where, node in _walk(response.json()):
            assert not INTERNAL & set(node), (url, where)
            assert "email" not in node, (url, where)
            if "username" in node:
                assert set(node) == USER_SUMMARY, (url, where, node)


def test_only_me_shows_an_email_and_only_ones_own(client_for, world):
    developer = world["developer"]
    me = client_for(developer).get("/api/v1/me").json()
    assert me["email"] == developer.email
    assert set(me) == {"id", "username", "email", "display_name", "role", "date_joined"}


def test_the_contract_shows_users_as_summaries_too():
    """Any response schema with a username is the summary, except the caller's own /me."""
    schema = generate_schema()
    for name, component in schema["components"]["schemas"].items():
        properties = set(component.get("properties", {}))
        if name.endswith("Request") or "username" not in properties:
            continue
        if name == "User":  # GET/PATCH /me and the registration answer: one's own account
            assert properties == {"id", "username", "email", "display_name", "role", "date_joined"}
            continue
        assert properties == USER_SUMMARY, name
    text = json.dumps(schema["components"]["schemas"])
    assert "search_vector" not in text and "last_issue_number" not in text
    assert "is_staff" not in text and "is_superuser" not in text
    users = {
        op["responses"]["200"]["content"]["application/json"]["schema"].get("$ref")
        for path, methods in schema["paths"].items()
        for op in methods.values()
        if path == "/api/v1/me" and "200" in op["responses"]
    }
    assert users == {"#/components/schemas/User"}
