"""What `/permissions/me` reports is what the endpoints do, and what the site-level rights
say (outside projects) too.

Every action of the rights table (projects/rights.py) is tried by every kind of caller,
standing in every relation to the object that matters for it (the issue's reporter or
assignee, the comment's author, the membership's own user, or none), on an active and an
archived project. The caller first asks `GET /projects/{key}/permissions/me`; the real
request then succeeds exactly when the answer said it may: the action is in `actions`, or
in `conditional_actions` with a relation that holds. A refusal is a 403 (a 404 for whoever
cannot see the project) and changes nothing.
"""

import hashlib
from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.callers import Caller
from accounts.pats import SCOPES
from accounts.services import pat_create
from attachments.models import Attachment
from attachments.storage import attachments_storage
from comments.models import Comment
from issues.models import Issue, IssueEvent, IssueRelation, Label
from notifications.models import IssueSubscription
from projects.models import Membership, Project, Role
from projects.rights import RIGHTS, SITE_RIGHTS, Relation, site_refusal
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

CALLERS = ["stranger", *(role.label for role in Role), "site_admin"]


@dataclass
class Scene:
    project: Project
    actor: object
    issue: Issue  # in the status the action starts from; reporter/assignee per relation
    comment: Comment  # the actor's when the relation is "own"
    label: Label
    viewer: object  # a viewer member, for membership changes
    co_owner: object  # a second owner, so owners may leave or be demoted
    stranger: object  # in no project, for adding members
    export: Export  # the actor's when the relation is "own"
    imp: Import
    attachment: Attachment  # the actor's when the relation is "own"


# The status each action is tried from, and the status it moves the issue to.
START = {
    "start_issue": "open",
    "stop_issue": "in_progress",
    "submit_issue_for_review": "in_progress",
    "request_changes": "in_review",
    "resolve_issue": "in_review",
    "close_issue": "open",
    "reopen_issue": "closed",
}


def P(s):  # short on purpose: the project's URL prefix
    return f"/api/v1/projects/{s.project.key}"


def I(s):  # noqa: E743 - the issue's URL
    return f"/api/v1/issues/{s.issue.key}"


def status(target, **extra):
    return lambda s: ("post", f"{I(s)}/status", {"status": target, **extra})


# action -> the request that takes it: scene -> (method, url, body).
PROBES = {
    "view_project": lambda s: ("get", f"{I(s)}", None),
    "edit_project": lambda s: ("patch", P(s), {"name": "Renamed"}),
    "archive_project": lambda s: (
        "post",
        f"{P(s)}/{'unarchive' if s.project.is_archived else 'archive'}",
        None,
    ),
    "delete_project": lambda s: ("delete", P(s), None),
    "manage_members": lambda s: (
        "patch",
        f"{P(s)}/members/{s.viewer.username}",
        {"role": "reporter"},
    ),
    "manage_owners": lambda s: (
        "patch",
        f"{P(s)}/members/{s.co_owner.username}",
        {"role": "maintainer"},
    ),
    "leave_project": lambda s: ("delete", f"{P(s)}/members/{s.actor.username}", None),
    "manage_labels": lambda s: ("patch", f"{P(s)}/labels/{s.label.pk}", {"name": "renamed"}),
    "create_issue": lambda s: ("post", f"{P(s)}/issues", {"title": "New"}),
    "assign_issue": lambda s: (
        "post",
        f"{P(s)}/issues",
        {"title": "Assigned", "assignee": s.co_owner.username},
    ),
    "edit_issue": lambda s: ("patch", I(s), {"priority": "highest"}),
    "edit_issue_text": lambda s: ("patch", I(s), {"title": "Edited"}),
    "delete_issue": lambda s: ("delete", I(s), None),
    "start_issue": status("in_progress"),
    "stop_issue": status("open"),
    "submit_issue_for_review": status("in_review"),
    "request_changes": status("in_progress", comment="Needs tests."),
    "resolve_issue": status("resolved"),
    "close_issue": status("closed", resolution="wont_fix"),
    "reopen_issue": status("open", comment="Still broken."),
    "relate_issues": lambda s: (
        "post",
        f"{I(s)}/relations",
        {"type": "blocks", "issue": IssueFactory(project=s.project).key},
    ),
    "force_transition": lambda s: (
        IssueRelation.objects.create(
            source=IssueFactory(project=s.project), target=s.issue, type="blocks"
        )
        and (
            "post",
            f"{I(s)}/status",
            {"status": "closed", "resolution": "wont_fix", "force": True},
        )
    ),
    "comment": lambda s: ("post", f"{I(s)}/comments", {"body": "Hi"}),
    "edit_comment": lambda s: ("patch", f"/api/v1/comments/{s.comment.pk}", {"body": "Edited"}),
    "delete_comment": lambda s: ("delete", f"/api/v1/comments/{s.comment.pk}", None),
    "attach": lambda s: (
        "post",
        f"{I(s)}/attachments",
        {"file": SimpleUploadedFile("a.txt", b"hello")},
        "multipart",
    ),
    "complete_upload": lambda s: (
        uploaded(s.attachment)
        and ("post", f"/api/v1/attachments/{s.attachment.pk}/complete", None)
    ),
    "delete_attachment": lambda s: ("delete", f"/api/v1/attachments/{s.attachment.pk}", None),
    "export_issues": lambda s: ("post", f"{P(s)}/exports", {"format": "csv"}),
    "view_export": lambda s: ("get", f"/api/v1/exports/{s.export.pk}", None),
    "import_issues": lambda s: (
        "post",
        f"{P(s)}/imports",
        {
            "format": "jsonl",
            "file": SimpleUploadedFile("i.jsonl", b'{"key": "A-1", "title": "x"}'),
        },
        "multipart",
    ),
    "view_imports": lambda s: ("get", f"/api/v1/imports/{s.imp.pk}", None),
    "view_webhooks": lambda s: ("get", f"{P(s)}/webhooks", None),
    "manage_webhooks": lambda s: (
        "post",
        f"{P(s)}/webhooks",
        {"url": "https://8.8.8.8/hook", "description": "CI"},
    ),
    "watch": lambda s: ("put", f"{I(s)}/subscription", None),
}


def uploaded(attachment: Attachment) -> bool:
    """Make `attachment` a two-step upload whose file is in the store, to complete."""
    data = b"uploaded"
    attachments_storage().save(attachment.key, ContentFile(data))
    Attachment.objects.filter(pk=attachment.pk).update(
        status="pending",
        reason=Attachment.AWAITING_UPLOAD,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    return True


def relations_of(action: str) -> list[str]:
    """The relations worth trying for an action: none, and each its right names."""
    kinds = {"none"}
    for relation in RIGHTS[action].relations:
        # own: the actor reported the issue, wrote the comment, asked for the export...
        kinds.add("assignee" if relation in (Relation.ASSIGNEE, Relation.NOT_ASSIGNEE) else "own")
    if action == "leave_project":
        kinds = {"own"}  # leaving someone else's membership is manage_members
    return sorted(kinds)


CASES = [
    (action, caller, relation, archived)
    for action in RIGHTS
    for caller in CALLERS
    for relation in relations_of(action)
    for archived in (False, True)
    # Only members have a membership of their own.
    if not (action == "leave_project" and caller in ("stranger", "site_admin"))
]


def make_scene(caller: str, action: str, relation: str, archived: bool) -> Scene:
    project = ProjectFactory(visibility="private")
    owner = project.created_by
    MembershipFactory(project=project, user=owner, role=Role.OWNER)
    actor = UserFactory(role="admin") if caller == "site_admin" else UserFactory()
    if caller not in ("stranger", "site_admin"):
        MembershipFactory(project=project, user=actor, role=Role[caller.upper()])
    viewer, co_owner, developer = UserFactory(), UserFactory(), UserFactory()
    MembershipFactory(project=project, user=viewer, role=Role.VIEWER)
    MembershipFactory(project=project, user=co_owner, role=Role.OWNER)
    MembershipFactory(project=project, user=developer, role=Role.DEVELOPER)
    issue = IssueFactory(
        project=project,
        reporter=actor if relation == "own" else owner,
        assignee=actor if relation == "assignee" else developer,
        status=START.get(action, "open"),
    )
    if issue.status == "closed":
        Issue.objects.filter(pk=issue.pk).update(resolution="fixed")
    comment = CommentFactory(issue=issue, author=actor if relation == "own" else owner)
    done = {"status": "done", "expires_at": timezone.now() + timezone.timedelta(hours=1)}
    export = Export.objects.create(
        project=project, requested_by=actor if relation == "own" else owner, format="csv", **done
    )
    imp = Import.objects.create(project=project, requested_by=owner, format="csv", status="done")
    attachment = Attachment.objects.create(
        issue=issue,
        uploader=actor if relation == "own" else owner,
        key=Attachment.new_key(),
        filename="a.txt",
        size=0,
        status="available",
    )
    if archived:
        Project.objects.filter(pk=project.pk).update(archived_at="2030-01-01T00:00:00Z")
        project.refresh_from_db()
    return Scene(
        project=project,
        actor=actor,
        issue=issue,
        comment=comment,
        label=LabelFactory(project=project),
        viewer=viewer,
        co_owner=co_owner,
        stranger=UserFactory(),
        export=export,
        imp=imp,
        attachment=attachment,
    )


def holds(relation_name: str, scene: Scene, relation: str) -> bool:
    """Whether a relation `/permissions/me` names holds for the object the probe acts on."""
    if relation_name in ("reporter", "author", "self", "requester", "uploader"):
        return relation == "own"
    if relation_name == "assignee":
        return relation == "assignee"
    return relation != "assignee"  # not_assignee


def snapshot():
    return (
        list(Project.objects.order_by("pk").values_list("key", "name", "archived_at")),
        list(Membership.objects.order_by("pk").values_list("project", "user", "role")),
        list(Issue.objects.order_by("pk").values_list("title", "priority", "status")),
        list(Label.objects.order_by("pk").values_list("name", flat=True)),
        list(Comment.objects.order_by("pk").values_list("body", flat=True)),
        IssueEvent.objects.count(),
        Webhook.objects.count(),
        Export.objects.count(),
        Import.objects.count(),
        list(Attachment.objects.order_by("pk").values_list("status", flat=True)),
        IssueSubscription.objects.count(),
    )


def test_every_action_has_a_probe():
    assert set(PROBES) == set(RIGHTS)


@pytest.mark.parametrize("action, caller, relation, archived", CASES)
def test_permissions_me_agrees_with_the_endpoint(client_for, action, caller, relation, archived):
    scene = make_scene(caller, action, relation, archived)
    client = client_for(scene.actor)
    me = client.get(f"{P(scene)}/permissions/me")
    if caller == "stranger":
        assert me.status_code == 404
        promised = False
    else:
        body = me.json()
        promised = action in body["actions"] or any(
            holds(name, scene, relation) for name in body["conditional_actions"].get(action, [])
        )

    method, url, data, *format = PROBES[action](scene)
    before = snapshot()
    response = getattr(client, method)(url, data, format=format[0] if format else "json")

    context = (action, caller, relation, archived, response.status_code, response.content[:300])
    if promised:
        assert 200 <= response.status_code < 300, context
        if method != "get":
            assert snapshot() != before, context
    else:
        assert response.status_code == (404 if caller == "stranger" else 403), context
        assert snapshot() == before, context


# -- the site-level part of the table (accounts/rights.py) ---------------------------------
#
# Outside projects no role decides, only the credentials: a password (here a JWT), a
# personal access token with every scope, one with only `read`, and one with every scope
# but limited to a project. Each tries every site-level action; the table's answer
# (site_refusal) says whether the endpoint takes it, and a refusal changes nothing.

SITE_CALLERS = ["password", "token", "read_token", "limited_token"]

# action -> the request that takes it: (user, refresh token) -> (method, url, body).
SITE_PROBES = {
    "create_project": lambda user, refresh: (
        "post",
        "/api/v1/projects",
        {"key": "NEWKEY", "name": "New"},
    ),
    "manage_tokens": lambda user, refresh: ("get", "/api/v1/me/tokens", None),
    "view_account": lambda user, refresh: ("get", "/api/v1/me", None),
    "edit_account": lambda user, refresh: ("patch", "/api/v1/me", {"display_name": "Renamed"}),
    "change_email": lambda user, refresh: ("patch", "/api/v1/me", {"email": "new@example.com"}),
    "read_events": lambda user, refresh: ("get", "/api/v1/events", None),
    "sign_out": lambda user, refresh: ("post", "/api/v1/auth/logout", {"refresh_token": refresh}),
    "notifications": lambda user, refresh: ("get", "/api/v1/me/notifications", None),
}


def site_snapshot(user):
    user.refresh_from_db()
    return (
        list(Project.objects.order_by("pk").values_list("key", flat=True)),
        (user.display_name, user.email),
        user.personal_tokens.filter(revoked_at=None).count(),
        user.token_families.filter(revoked_at=None).count(),
    )


def test_every_site_action_has_a_probe():
    assert set(SITE_PROBES) == set(SITE_RIGHTS)


@pytest.mark.parametrize("caller", SITE_CALLERS)
@pytest.mark.parametrize("action", SITE_RIGHTS)
def test_the_site_rights_agree_with_the_endpoints(client_for, action, caller):
    project = ProjectFactory(visibility="private")
    user = UserFactory()
    MembershipFactory(project=project, user=user, role=Role.OWNER)
    client = client_for(user)  # signed in with a password: a token pair
    refresh = str(client.token_pair.refresh)
    token = None
    if caller != "password":
        scopes = ["read"] if caller == "read_token" else list(SCOPES)
        limited = [project] if caller == "limited_token" else None
        token, secret = pat_create(user=user, name="probe", scopes=scopes, projects=limited)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    promised = site_refusal(Caller(user, token), action) is None

    method, url, data = SITE_PROBES[action](user, refresh)
    before = site_snapshot(user)
    response = getattr(client, method)(url, data, format="json")

    context = (action, caller, response.status_code, response.content[:300])
    if promised:
        assert 200 <= response.status_code < 300, context
        if method != "get":
            assert site_snapshot(user) != before, context
    else:
        assert response.status_code == 403, context
        assert site_snapshot(user) == before, context
