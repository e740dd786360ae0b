"""Every new endpoint x every caller kind (each role, an outsider, anonymous, a site admin)
and personal access tokens with and without the `notifications` scope: the status, and no
change on refusal."""

import pytest

from tests.conftest import CALLERS
from tests.factories import (
    IssueFactory,
    ProjectFactory,
    ProjectSubscriptionFactory,
    ThreadFactory,
)
from tests.state import database_state

pytestmark = pytest.mark.django_db

# (name, method, path, body, success status). {key}: the project, {issue}: an issue of it,
# {thread}: the caller's thread on that issue, {other}: another person's thread there.
PROJECT_ENDPOINTS = [
    ("issue subscription get", "get", "/api/v1/issues/{issue}/subscription", None, 200),
    ("watch issue", "put", "/api/v1/issues/{issue}/subscription", None, 200),
    ("unwatch issue", "delete", "/api/v1/issues/{issue}/subscription", None, 204),
    ("project subscription get", "get", "/api/v1/projects/{key}/subscription", None, 200),
    ("watch project", "put", "/api/v1/projects/{key}/subscription", {"level": "all"}, 200),
    ("unwatch project", "delete", "/api/v1/projects/{key}/subscription", None, 204),
    ("thread get", "get", "/api/v1/me/notifications/{thread}", None, 200),
    ("thread mark", "patch", "/api/v1/me/notifications/{thread}", {"read": True}, 200),
    ("thread done", "delete", "/api/v1/me/notifications/{thread}", None, 204),
]
PERSONAL_ENDPOINTS = [
    ("inbox", "get", "/api/v1/me/notifications", None, 200),
    ("mark all read", "post", "/api/v1/me/notifications/mark-read", {}, 200),
    ("settings get", "get", "/api/v1/me/notification-settings", None, 200),
    ("settings change", "patch", "/api/v1/me/notification-settings", {"commented": "never"}, 200),
]
OTHERS_THREAD = [
    ("other's thread get", "get", "/api/v1/me/notifications/{other}", None),
    ("other's thread mark", "patch", "/api/v1/me/notifications/{other}", {"read": True}),
    ("other's thread done", "delete", "/api/v1/me/notifications/{other}", None),
]
WRITES = {"put", "patch", "delete", "post"}


def expected(kind: str, visibility: str, ok: int) -> int:
    if kind == "anonymous":
        return 401
    if kind == "outsider" and visibility == "private":
        return 404  # the project (and so the thread) does not exist for them
    return ok


def setup(project, kind, caller, member_of):
    user = caller(project, kind)
    issue = IssueFactory(project=project)
    other = member_of(project, "viewer")
    paths = {
        "key": project.key,
        "issue": issue.key,
        "other": ThreadFactory(user=other, issue=issue).pk,
        "thread": ThreadFactory(user=user, issue=issue).pk if user else 1,
    }
    if user is not None:  # so that every write changes something
        ProjectSubscriptionFactory(user=user, project=project, level="new_issues")
    return user, paths


def call(client, method, path, body, paths):
    return getattr(client, method)(path.format(**paths), body, format="json")


@pytest.mark.parametrize("visibility", ["private", "internal"])
@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize("endpoint", PROJECT_ENDPOINTS, ids=lambda e: e[0])
def test_project_scoped_endpoints(
    project, caller, member_of, client_for, kind, endpoint, visibility
):
    name, method, path, body, ok = endpoint
    project.visibility = visibility
    project.save()
    user, paths = setup(project, kind, caller, member_of)
    before = database_state()

    response = call(client_for(user), method, path, body, paths)

    status = expected(kind, visibility, ok)
    assert response.status_code == status, (name, kind, response.content[:200])
    if status >= 400 or method == "get":
        assert database_state() == before
    else:
        assert database_state() != before


@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize("endpoint", PERSONAL_ENDPOINTS, ids=lambda e: e[0])
def test_personal_endpoints(project, caller, member_of, client_for, kind, endpoint):
    name, method, path, body, ok = endpoint
    user, paths = setup(project, kind, caller, member_of)
    before = database_state()

    response = call(client_for(user), method, path, body, paths)

    status = 401 if kind == "anonymous" else ok
    assert response.status_code == status, (name, kind, response.content[:200])
    if status >= 400 or method == "get":
        assert database_state() == before


@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize("endpoint", OTHERS_THREAD, ids=lambda e: e[0])
def test_nobody_reaches_another_persons_thread(
    project, caller, member_of, client_for, kind, endpoint
):
    name, method, path, body = endpoint
    user, paths = setup(project, kind, caller, member_of)
    before = database_state()

    response = call(client_for(user), method, path, body, paths)

    assert response.status_code == (401 if kind == "anonymous" else 404), (name, kind)
    assert database_state() == before


@pytest.mark.parametrize("endpoint", PROJECT_ENDPOINTS + PERSONAL_ENDPOINTS, ids=lambda e: e[0])
@pytest.mark.parametrize("scopes", [["notifications"], ["read", "issues:write", "comments:write"]])
def test_a_token_needs_the_notifications_scope(project, member_of, pat_client, endpoint, scopes):
    name, method, path, body, ok = endpoint
    user = member_of(project, "developer")
    _, paths = setup(project, "viewer", lambda p, k: user, member_of)
    client = pat_client(user, scopes)
    before = database_state()

    response = call(client, method, path, body, paths)

    if "notifications" in scopes:
        assert response.status_code == ok, (name, response.content[:200])
    else:
        assert response.status_code == 403, name
        assert response.json()["code"] == "missing_scope"
        assert response.json()["detail"] == "This token lacks the `notifications` scope."
        assert database_state() == before


@pytest.mark.parametrize("endpoint", PROJECT_ENDPOINTS, ids=lambda e: e[0])
def test_a_token_limited_to_other_projects_finds_nothing(project, member_of, pat_client, endpoint):
    name, method, path, body, _ = endpoint
    user = member_of(project, "developer")
    _, paths = setup(project, "viewer", lambda p, k: user, member_of)
    elsewhere = ProjectFactory(visibility="private")
    client = pat_client(user, ["notifications"], projects=[elsewhere])
    before = database_state()

    response = call(client, method, path, body, paths)

    assert response.status_code == 404, name
    assert database_state() == before
