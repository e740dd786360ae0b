"""OWASP API1:2023 Broken Object Level Authorization.

Two users, each owning a private project. Every URL of the other's project (the project,
its members, issues, labels, comments, events, transitions, permissions), by key and by
id, with every method, is a 404 indistinguishable from an object that does not exist, and
no write lands. Visibility is one queryset per model (`visible_to`), so lists and
references in bodies leak nothing either. Per-role rights within a project are API5.
"""

import pytest

from comments.models import Comment
from issues.models import Issue, IssueEvent, Label
from projects.models import Membership, Project, Role
from tests.factories import (
    CommentFactory,
    IssueFactory,
    LabelFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob")


def _private_project(owner, key):
    project = ProjectFactory(key=key, visibility="private", created_by=owner)
    MembershipFactory(project=project, user=owner, role=Role.OWNER)
    colleague = UserFactory(username=f"{key.lower()}-dev")
    MembershipFactory(project=project, user=colleague, role=Role.DEVELOPER)
    label = LabelFactory(project=project, name=f"{key.lower()}-label")
    issue = IssueFactory(project=project, reporter=owner, assignee=colleague)
    issue.labels.add(label)
    comment = CommentFactory(issue=issue, author=owner)
    IssueEvent.objects.create(issue=issue, actor=owner, kind=IssueEvent.Kind.COMMENTED)
    return project, issue, comment, label, colleague


@pytest.fixture
def alices(alice):
    return _private_project(alice, "ALICE")


@pytest.fixture
def bobs(bob):
    return _private_project(bob, "BOB")


@pytest.fixture
def alice_client(client_for, alice, alices, bobs):
    return client_for(alice)


def snapshot():
    return (
        list(Project.objects.order_by("pk").values_list("key", "name", "archived_at")),
        list(Membership.objects.order_by("pk").values_list("project", "user", "role")),
        list(Issue.objects.order_by("pk").values_list("project", "number", "title", "status")),
        list(Issue.labels.through.objects.order_by("pk").values_list("issue", "label")),
        list(Label.objects.order_by("pk").values_list("project", "name", "color")),
        list(Comment.objects.order_by("pk").values_list("issue", "body")),
        IssueEvent.objects.count(),
    )


def bobs_urls(bobs):
    project, issue, comment, label, colleague = bobs
    p, i = project.key, issue.key
    change = {"name": "x", "role": "viewer", "title": "x", "body": "x", "color": "#000000"}
    return [
        ("get", f"/api/v1/projects/{p}", None),
        ("get", f"/api/v1/projects/{project.pk}", None),
        ("get", f"/api/v1/projects/{p.lower()}", None),
        ("patch", f"/api/v1/projects/{p}", change),
        ("delete", f"/api/v1/projects/{p}", None),
        ("delete", f"/api/v1/projects/{project.pk}", None),
        ("post", f"/api/v1/projects/{p}/archive", None),
        ("post", f"/api/v1/projects/{p}/unarchive", None),
        ("get", f"/api/v1/projects/{p}/permissions/me", None),
        ("get", f"/api/v1/projects/{p}/members", None),
        ("post", f"/api/v1/projects/{p}/members", {"username": "alice", "role": "owner"}),
        ("get", f"/api/v1/projects/{p}/members/{colleague.username}", None),
        ("patch", f"/api/v1/projects/{p}/members/{colleague.username}", change),
        ("delete", f"/api/v1/projects/{p}/members/{colleague.username}", None),
        ("get", f"/api/v1/projects/{p}/issues", None),
        ("post", f"/api/v1/projects/{p}/issues", {"title": "planted"}),
        ("get", f"/api/v1/projects/{p}/labels", None),
        ("post", f"/api/v1/projects/{p}/labels", {"name": "planted"}),
        ("get", f"/api/v1/projects/{p}/labels/{label.pk}", None),
        ("patch", f"/api/v1/projects/{p}/labels/{label.pk}", change),
        ("delete", f"/api/v1/projects/{p}/labels/{label.pk}", None),
        ("get", f"/api/v1/issues/{i}", None),
        ("get", f"/api/v1/issues/{i.lower()}", None),
        ("patch", f"/api/v1/issues/{i}", change),
        ("delete", f"/api/v1/issues/{i}", None),
        ("post", f"/api/v1/issues/{i}/status", {"status": "closed", "resolution": "fixed"}),
        ("get", f"/api/v1/issues/{i}/transitions", None),
        ("get", f"/api/v1/issues/{i}/events", None),
        ("get", f"/api/v1/issues/{i}/comments", None),
        ("post", f"/api/v1/issues/{i}/comments", {"body": "planted"}),
        ("get", f"/api/v1/comments/{comment.pk}", None),
        ("patch", f"/api/v1/comments/{comment.pk}", change),
        ("delete", f"/api/v1/comments/{comment.pk}", None),
    ]


def test_every_url_of_a_private_project_of_someone_else_is_a_404(alice_client, bobs):
    before = snapshot()
    for method, url, body in bobs_urls(bobs):
        response = getattr(alice_client, method)(url, body, format="json")
        assert response.status_code == 404, (method, url, response.content)
        assert response.json() == {
            "type": "about:blank",
            "title": "Not Found",
            "status": 404,
            "detail": "Not found.",
            "code": "not_found",
            "instance": url,
        }
    assert snapshot() == before


def test_a_hidden_project_looks_like_one_that_does_not_exist(alice_client, bobs):
    project, issue = bobs[0], bobs[1]
    for real, made_up in [
        (f"/api/v1/projects/{project.key}", "/api/v1/projects/NOSUCH"),
        (f"/api/v1/projects/{project.key}/issues", "/api/v1/projects/NOSUCH/issues"),
        (f"/api/v1/issues/{issue.key}", "/api/v1/issues/NOSUCH-1"),
        (f"/api/v1/issues/{issue.key}/comments", "/api/v1/issues/NOSUCH-1/comments"),
    ]:
        hidden, missing = alice_client.get(real), alice_client.get(made_up)
        assert (hidden.status_code, hidden["Content-Type"]) == (
            missing.status_code,
            missing["Content-Type"],
        )
        assert {**hidden.json(), "instance": ""} == {**missing.json(), "instance": ""}


def test_lists_and_searches_show_nothing_of_it(alice_client, alices, bobs):
    own_issue, bobs_issue = alices[1], bobs[1]
    issues = alice_client.get("/api/v1/issues", {"page_size": 100}).json()["results"]
    assert [row["key"] for row in issues] == [own_issue.key]
    projects = alice_client.get("/api/v1/projects").json()["results"]
    assert [row["key"] for row in projects] == ["ALICE"]
    assert alice_client.get("/api/v1/projects", {"archived": "true"}).json()["results"] == []
    for text in (bobs_issue.key, bobs_issue.title):
        found = alice_client.get("/api/v1/issues", {"search": text}).json()["results"]
        assert bobs_issue.key not in [row["key"] for row in found]
    by_assignee = alice_client.get("/api/v1/issues", {"assignee": bobs[4].username})
    assert by_assignee.json()["results"] == []
    by_project = alice_client.get("/api/v1/issues", {"project": "BOB"})
    nonexistent = alice_client.get("/api/v1/issues", {"project": "NOSUCH"})
    assert by_project.status_code == nonexistent.status_code == 400
    by_label = alice_client.get("/api/v1/issues", {"label": bobs[3].name})
    assert by_label.json()["errors"][0]["message"] == f"No label is named {bobs[3].name}."


def test_references_in_bodies_cannot_reach_into_it(alice_client, alices, bobs):
    """Naming the other project, its label or its developer from one's own objects."""
    before = snapshot()
    own_project, own_issue = alices[0], alices[1]
    bobs_project, bobs_label, bobs_developer = bobs[0], bobs[3], bobs[4]
    created = alice_client.post(
        "/api/v1/issues", {"project": bobs_project.key, "title": "planted"}, format="json"
    )
    assert created.json()["errors"][0]["message"] == f"No project with key {bobs_project.key!r}."
    for change in (
        {"labels": [bobs_label.pk]},
        {"labels": [bobs_label.name]},
        {"assignee": bobs_developer.username},
    ):
        response = alice_client.patch(f"/api/v1/issues/{own_issue.key}", change, format="json")
        assert response.status_code == 400, (change, response.content)
    cross = f"/api/v1/projects/{own_project.key}/labels/{bobs_label.pk}"
    assert alice_client.get(cross).status_code == 404
    assert alice_client.patch(cross, {"name": "stolen"}, format="json").status_code == 404
    assert alice_client.delete(cross).status_code == 404
    member = f"/api/v1/projects/{own_project.key}/members/{bobs_developer.username}"
    assert alice_client.get(member).status_code == 404
    assert snapshot() == before


def test_the_owner_reaches_every_one_of_those_urls(client_for, bob, bobs, alices):
    """The URLs above are real: the project's owner reads every one of them."""
    client = client_for(bob)
    for method, url, _ in bobs_urls(bobs):
        if method == "get":
            assert client.get(url).status_code == 200, url


def test_a_former_member_loses_access_at_once(client_for, alice, bobs):
    project, issue = bobs[0], bobs[1]
    MembershipFactory(project=project, user=alice, role=Role.MAINTAINER)
    client = client_for(alice)
    assert client.get(f"/api/v1/issues/{issue.key}").status_code == 200
    Membership.objects.filter(project=project, user=alice).delete()
    assert client.get(f"/api/v1/issues/{issue.key}").status_code == 404
    patched = client.patch(f"/api/v1/issues/{issue.key}", {"title": "late"}, format="json")
    assert patched.status_code == 404
    issue.refresh_from_db()
    assert issue.title != "late"
