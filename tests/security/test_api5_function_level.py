"""OWASP API5:2023 Broken Function Level Authorization.

Every action of the rights table (projects/rights.py, README "Roles") that a role alone
grants is tried by the role just below the one it needs: a 403 (a 404 for a non-member
of a private project, who may not learn it exists), and nothing changes. The same request
by the role it needs succeeds, so each refusal is about the role and nothing else. Rights
that a relation grants too (the reporter, the assignee, the author) are walked in
tests/projects/test_rights_agreement.py; the full caller x action matrices are in
tests/projects, tests/issues and tests/comments (test_permission_matrix).
"""

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from attachments.models import Attachment
from comments.models import Comment
from issues.models import Issue, IssueEvent, IssueRelation, Label
from notifications.models import IssueSubscription, ProjectSubscription
from projects.models import Membership, Project, Role
from projects.rights import RIGHTS
from tests.factories import (
    CommentFactory,
    IssueFactory,
    LabelFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
)
from transfers.models import Export, Import
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db

BELOW = {
    Role.VIEWER: None,  # a signed-in non-member of the private project
    Role.REPORTER: Role.VIEWER,
    Role.DEVELOPER: Role.REPORTER,
    Role.MAINTAINER: Role.DEVELOPER,
    Role.OWNER: Role.MAINTAINER,
}


@dataclass
class Scene:
    """A private project and everything an action can be tried on."""

    project: Project
    actor: object
    developer: object
    viewer: object
    co_owner: object
    stranger: object  # signed up, in no project
    issue: Issue  # reported by the owner, assigned to the actor if they may be assigned
    in_review: Issue
    resolved: Issue
    comment: Comment  # someone else's
    own_comment: Comment  # the actor's (written before any demotion)
    label: Label
    imp: Import  # the owner's


def make_scene(role: Role | None, archived: bool = False) -> Scene:
    project = ProjectFactory(visibility="private")
    owner = project.created_by
    MembershipFactory(project=project, user=owner, role=Role.OWNER)
    actor = UserFactory()
    if role is not None:
        MembershipFactory(project=project, user=actor, role=role)
    developer, viewer, co_owner = UserFactory(), UserFactory(), UserFactory()
    for user, member_role in ((developer, Role.DEVELOPER), (viewer, Role.VIEWER)):
        MembershipFactory(project=project, user=user, role=member_role)
    MembershipFactory(project=project, user=co_owner, role=Role.OWNER)
    issue = IssueFactory(project=project, reporter=owner, assignee=developer)
    in_review = IssueFactory(
        project=project, reporter=owner, assignee=developer, status="in_review"
    )
    resolved = IssueFactory(project=project, reporter=owner, assignee=developer, status="resolved")
    Issue.objects.filter(pk=resolved.pk).update(resolution="fixed")
    if archived:
        Project.objects.filter(pk=project.pk).update(archived_at="2030-01-01T00:00:00Z")
    return Scene(
        project=project,
        actor=actor,
        developer=developer,
        viewer=viewer,
        co_owner=co_owner,
        stranger=UserFactory(),
        issue=issue,
        in_review=in_review,
        resolved=resolved,
        comment=CommentFactory(issue=issue, author=owner),
        own_comment=CommentFactory(issue=issue, author=actor),
        label=LabelFactory(project=project),
        imp=Import.objects.create(
            project=project, requested_by=owner, format="csv", status="done"
        ),
    )


def P(s):  # short on purpose: the project's URL prefix
    return f"/api/v1/projects/{s.project.key}"


# action -> requests that take it: (method, url(scene), body(scene)), each a 2xx for the
# role the action needs.
REQUESTS = {
    "view_project": [
        ("get", lambda s: P(s), None),
        ("get", lambda s: f"{P(s)}/issues", None),
        ("get", lambda s: f"{P(s)}/members", None),
        ("get", lambda s: f"{P(s)}/labels", None),
        ("get", lambda s: f"/api/v1/issues/{s.issue.key}", None),
        ("get", lambda s: f"/api/v1/issues/{s.issue.key}/comments", None),
        ("get", lambda s: f"/api/v1/issues/{s.issue.key}/events", None),
        ("get", lambda s: f"/api/v1/issues/{s.issue.key}/transitions", None),
        ("get", lambda s: f"/api/v1/comments/{s.comment.pk}", None),
    ],
    "create_issue": [
        ("post", lambda s: f"{P(s)}/issues", lambda s: {"title": "New"}),
        ("post", lambda s: "/api/v1/issues", lambda s: {"project": s.project.key, "title": "New"}),
    ],
    "comment": [
        ("post", lambda s: f"/api/v1/issues/{s.issue.key}/comments", lambda s: {"body": "Hi"}),
    ],
    "force_transition": [
        (
            "post",
            lambda s: f"/api/v1/issues/{s.issue.key}/status",
            lambda s: {"status": "closed", "resolution": "wont_fix", "force": True},
        ),
    ],
    "relate_issues": [
        (
            "post",
            lambda s: f"/api/v1/issues/{s.issue.key}/relations",
            lambda s: {"type": "relates_to", "issue": s.in_review.key},
        ),
    ],
    "attach": [
        (
            "post",
            lambda s: f"/api/v1/issues/{s.issue.key}/attachments",
            lambda s: {"file": SimpleUploadedFile("a.txt", b"hello")},
        ),
        (
            "post",
            lambda s: f"/api/v1/comments/{s.comment.pk}/attachments",
            lambda s: {"file": SimpleUploadedFile("b.txt", b"hello")},
        ),
    ],
    "edit_issue": [
        ("patch", lambda s: f"/api/v1/issues/{s.issue.key}", lambda s: {"priority": "high"}),
        ("patch", lambda s: f"/api/v1/issues/{s.issue.key}", lambda s: {"labels": ["x"]}),
    ],
    "assign_issue": [
        (
            "post",
            lambda s: f"{P(s)}/issues",
            lambda s: {"title": "Assigned", "assignee": s.developer.username},
        ),
    ],
    "view_webhooks": [("get", lambda s: f"{P(s)}/webhooks", None)],
    "manage_webhooks": [
        ("post", lambda s: f"{P(s)}/webhooks", lambda s: {"url": "https://8.8.8.8/hook"}),
    ],
    "delete_issue": [("delete", lambda s: f"/api/v1/issues/{s.issue.key}", None)],
    "manage_labels": [
        ("post", lambda s: f"{P(s)}/labels", lambda s: {"name": "new-label"}),
        ("patch", lambda s: f"{P(s)}/labels/{s.label.pk}", lambda s: {"name": "renamed"}),
        ("delete", lambda s: f"{P(s)}/labels/{s.label.pk}", None),
    ],
    "edit_project": [
        ("patch", lambda s: P(s), lambda s: {"name": "Renamed"}),
        ("patch", lambda s: P(s), lambda s: {"visibility": "internal"}),
    ],
    "manage_members": [
        (
            "post",
            lambda s: f"{P(s)}/members",
            lambda s: {"username": s.stranger.username, "role": "viewer"},
        ),
        (
            "patch",
            lambda s: f"{P(s)}/members/{s.viewer.username}",
            lambda s: {"role": "reporter"},
        ),
        ("delete", lambda s: f"{P(s)}/members/{s.viewer.username}", None),
    ],
    "manage_owners": [
        (
            "post",
            lambda s: f"{P(s)}/members",
            lambda s: {"username": s.stranger.username, "role": "owner"},
        ),
        ("patch", lambda s: f"{P(s)}/members/{s.viewer.username}", lambda s: {"role": "owner"}),
        (
            "patch",
            lambda s: f"{P(s)}/members/{s.co_owner.username}",
            lambda s: {"role": "maintainer"},
        ),
        ("delete", lambda s: f"{P(s)}/members/{s.co_owner.username}", None),
    ],
    "archive_project": [("post", lambda s: f"{P(s)}/archive", None)],
    "delete_project": [("delete", lambda s: P(s), None)],
    "export_issues": [("post", lambda s: f"{P(s)}/exports", lambda s: {"format": "csv"})],
    "import_issues": [
        (
            "post",
            lambda s: f"{P(s)}/imports",
            lambda s: {
                "format": "jsonl",
                "file": SimpleUploadedFile("i.jsonl", b'{"key": "A-1", "title": "x"}'),
            },
        ),
    ],
    "view_imports": [("get", lambda s: f"/api/v1/imports/{s.imp.pk}", None)],
    "watch": [
        ("put", lambda s: f"/api/v1/issues/{s.issue.key}/subscription", None),
        ("put", lambda s: f"{P(s)}/subscription", lambda s: {"level": "new_issues"}),
    ],
}
CASES = [
    (action, index) for action, requests in REQUESTS.items() for index in range(len(requests))
]


def snapshot():
    return (
        list(
            Project.objects.order_by("pk").values_list("key", "name", "visibility", "archived_at")
        ),
        list(Membership.objects.order_by("pk").values_list("project", "user", "role")),
        list(Issue.objects.order_by("pk").values_list("title", "priority", "status", "assignee")),
        list(Issue.labels.through.objects.values_list("issue", "label")),
        list(Label.objects.order_by("pk").values_list("name", flat=True)),
        list(Comment.objects.order_by("pk").values_list("body", flat=True)),
        IssueEvent.objects.count(),
        get_user_model().objects.count(),
        Webhook.objects.count(),
        Export.objects.count(),
        Import.objects.count(),
        Attachment.objects.count(),
        IssueSubscription.objects.count() + ProjectSubscription.objects.count(),
    )


def _call(client, scene, method, url, body):
    data = body(scene) if body else None
    # A file goes as a file: multipart (imports take nothing else).
    upload = data and any(isinstance(v, SimpleUploadedFile) for v in data.values())
    return getattr(client, method)(url(scene), data, format="multipart" if upload else "json")


# What a role alone grants: the right needs no relation to the object.
NEEDED = {action: right.minimum for action, right in RIGHTS.items() if not right.relations}


def test_every_action_a_role_alone_grants_is_tried():
    assert set(REQUESTS) == set(NEEDED)


@pytest.mark.parametrize("action, index", CASES)
def test_the_role_just_below_is_refused(client_for, action, index):
    needed = NEEDED[action]
    scene = make_scene(BELOW[needed])
    if action == "edit_issue":  # a reporter may edit the title of an issue they reported
        Issue.objects.filter(pk=scene.issue.pk).update(reporter=scene.developer)
    if action == "force_transition":  # forcing is only asked of an issue with a blocker
        blocker = IssueFactory(project=scene.project)
        IssueRelation.objects.create(source=blocker, target=scene.issue, type="blocks")
    method, url, body = REQUESTS[action][index]
    before = snapshot()
    response = _call(client_for(scene.actor), scene, method, url, body)
    expected = 404 if BELOW[needed] is None else 403
    assert response.status_code == expected, (action, url(scene), response.content)
    assert response.json()["code"] in ("not_found", "permission_denied")
    assert snapshot() == before


@pytest.mark.parametrize("action, index", CASES)
def test_the_role_it_needs_succeeds(client_for, action, index):
    """The control for the refusal above: same request, same data, the role it needs."""
    scene = make_scene(NEEDED[action])
    if action == "edit_issue":
        Issue.objects.filter(pk=scene.issue.pk).update(reporter=scene.developer)
        LabelFactory(project=scene.project, name="x")
    if action == "force_transition":
        blocker = IssueFactory(project=scene.project)
        IssueRelation.objects.create(source=blocker, target=scene.issue, type="blocks")
    method, url, body = REQUESTS[action][index]
    before = snapshot()
    response = _call(client_for(scene.actor), scene, method, url, body)
    assert 200 <= response.status_code < 300, (action, url(scene), response.content)
    if method != "get":
        assert snapshot() != before


@pytest.mark.parametrize("role", [None, *Role])
def test_permissions_me_lists_exactly_the_actions_of_the_role(client_for, role):
    scene = make_scene(role)
    response = client_for(scene.actor).get(f"{P(scene)}/permissions/me")
    if role is None:
        assert response.status_code == 404
        return
    body = response.json()
    assert body["role"] == role.label
    assert body["actions"] == [
        action
        for action, right in RIGHTS.items()
        if right.minimum is not None and role >= right.minimum
    ]


@pytest.mark.parametrize("action, index", [c for c in CASES if c[0] != "view_project"])
def test_an_archived_project_refuses_every_write_but_unarchiving_and_deleting(
    client_for, action, index
):
    scene = make_scene(Role.OWNER, archived=True)
    method, url, body = REQUESTS[action][index]
    before = snapshot()
    response = _call(client_for(scene.actor), scene, method, url, body)
    if action in (
        "archive_project",
        "delete_project",
        "view_webhooks",
        "export_issues",
        "view_imports",
        "watch",
    ):
        assert 200 <= response.status_code < 300
        return
    assert response.status_code == 403, (action, url(scene), response.content)
    assert response.json()["code"] == "project_archived"
    assert snapshot() == before


@pytest.mark.parametrize("role, status", [(Role.MAINTAINER, 403), (Role.OWNER, 200)])
def test_only_an_owner_unarchives(client_for, role, status):
    scene = make_scene(role, archived=True)
    response = client_for(scene.actor).post(f"{P(scene)}/unarchive")
    assert response.status_code == status
    scene.project.refresh_from_db()
    assert scene.project.is_archived is (status == 403)


def test_a_non_member_of_an_internal_project_is_only_a_viewer(client_for):
    scene = make_scene(None)
    Project.objects.filter(pk=scene.project.pk).update(visibility="internal")
    client = client_for(scene.actor)
    assert client.get(f"/api/v1/issues/{scene.issue.key}").status_code == 200
    before = snapshot()
    for action in ("create_issue", "comment", "edit_issue", "manage_labels", "delete_project"):
        for method, url, body in REQUESTS[action]:
            response = _call(client, scene, method, url, body)
            assert response.status_code == 403, (action, url(scene))
    assert snapshot() == before


def test_the_admin_site_is_for_staff_only(client, user, password):
    """The Django admin (operators) is the one place beyond the role table."""
    assert client.login(username=user.username, password=password)
    for url in ("/admin/", "/admin/accounts/user/", "/admin/projects/project/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/")
