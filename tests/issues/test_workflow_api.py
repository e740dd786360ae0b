"""The workflow through POST /issues/{key}/status and GET /issues/{key}/transitions."""

import pytest
from django.utils import timezone

from issues.models import Issue, IssueEvent
from projects.rights import RIGHTS
from tests.factories import UserFactory
from tests.issues.test_workflow_service import (
    ACTORS,
    ALLOWED,
    FORBIDDEN,
    MAY,
    MISSING_INPUT,
    MISSING_INPUT_MESSAGES,
    REACHABLE,
    STATUSES,
    TRANSITIONS,
    WRONG_STATE,
    build_world,
    edge_id,
    inputs,
    requires,
    state,
)


def refusal_of(name: str) -> str:
    """What the rights table tells those who may not take transition `name`."""
    transition = next(
        t for t in Issue._meta.get_field("status").get_all_transitions(Issue) if t.name == name
    )
    return RIGHTS[transition.permission.action].refusal


pytestmark = pytest.mark.django_db


@pytest.fixture
def world(project, site_admin):
    return build_world(project, site_admin)


@pytest.fixture
def move(client_for):
    """POST a status change for `user` (None: anonymous) and return the response."""

    def post(user, issue, target, **given):
        key = issue if isinstance(issue, str) else issue.key
        return client_for(user).post(
            f"/api/v1/issues/{key}/status", {"status": target, **given}, format="json"
        )

    return post


def assert_problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return body


@pytest.mark.parametrize("name,source,target,kind", ALLOWED, ids=map(edge_id, ALLOWED))
def test_allowed_transition(world, move, name, source, target, kind):
    issue = world.issue(source, kind)
    given = inputs(name, source)

    response = move(world.users[kind], issue, target, **given)

    assert response.status_code == 200, response.content
    body = response.json()
    issue.refresh_from_db()
    assert (body["key"], body["status"], issue.status) == (issue.key, target, target)
    assert body["resolution"] == (issue.resolution or None)  # blank in the table, null in the API
    assert (body["resolved_at"] is None) == (issue.resolved_at is None)
    assert (body["closed_at"] is None) == (issue.closed_at is None)
    event = issue.events.get()
    assert (event.kind, event.actor, event.from_status, event.to_status) == (
        IssueEvent.Kind.TRANSITIONED,
        world.users[kind],
        source,
        target,
    )
    assert (event.comment.body if event.comment else None) == given.get("comment")


@pytest.mark.parametrize("name,source,target,kind", FORBIDDEN, ids=map(edge_id, FORBIDDEN))
def test_forbidden_for_the_role(world, move, name, source, target, kind):
    issue = world.issue(source, kind)
    before = state(issue)

    response = move(world.users[kind], issue, target, **inputs(name, source))

    body = assert_problem(response, 403, "permission_denied")
    assert body["detail"] == refusal_of(name)
    assert (body["current_status"], body["rule"]) == (source, name)
    assert state(issue) == before


@pytest.mark.parametrize("source,target", WRONG_STATE, ids=map(edge_id, WRONG_STATE))
def test_wrong_state_is_409_naming_current_and_reachable(world, move, source, target):
    issue = world.issue(source)
    before = state(issue)

    response = move(world.users["site_admin"], issue, target, resolution="fixed", comment="Hm.")

    body = assert_problem(response, 409, "transition_not_allowed")
    assert body["current_status"] == source
    assert sorted(body["allowed_statuses"]) == REACHABLE[source]
    assert source in body["detail"]
    assert all(status in body["detail"] for status in REACHABLE[source])
    assert state(issue) == before


@pytest.mark.parametrize("kind", ["maintainer", "owner", "site_admin"])
def test_start_without_assignee_is_409_naming_the_rule(world, move, kind):
    issue = world.issue("open", assignee=False)
    before = state(issue)

    response = move(world.users[kind], issue, "in_progress")

    body = assert_problem(response, 409, "rule_not_met")
    assert body["detail"] == "The issue must have an assignee."
    assert (body["current_status"], body["rule"]) == ("open", "start")
    assert state(issue) == before


@pytest.mark.parametrize(
    "name,source,target,needed", MISSING_INPUT, ids=map(edge_id, MISSING_INPUT)
)
@pytest.mark.parametrize("omit", [True, False], ids=["omitted", "blank"])
def test_missing_input_is_400_naming_the_field(world, move, name, source, target, needed, omit):
    issue = world.issue(source)
    before = state(issue)
    given = {"resolution": "fixed", "comment": "Because."}
    if omit:
        del given[needed]
    else:
        given[needed] = "  " if needed == "comment" else ""

    response = move(world.users["maintainer"], issue, target, **given)

    body = assert_problem(response, 400, "invalid")
    assert [e["field"] for e in body["errors"]] == [needed]
    assert body["errors"][0]["message"] == MISSING_INPUT_MESSAGES[name]
    assert state(issue) == before


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"status": "done"}, "status"),
        ({"status": ""}, "status"),
        ({}, "status"),
        ({"status": "resolved", "resolution": "nope"}, "resolution"),
        ({"status": "in_progress", "comment": "x" * 20_001}, "comment"),
    ],
    ids=["unknown", "blank", "missing", "bad-resolution", "long-comment"],
)
def test_invalid_request_is_400(world, client_for, payload, field):
    issue = world.issue("in_review")
    before = state(issue)
    response = client_for(world.users["maintainer"]).post(
        f"/api/v1/issues/{issue.key}/status", payload, format="json"
    )
    body = assert_problem(response, 400, "invalid")
    assert [e["field"] for e in body["errors"]] == [field]
    assert state(issue) == before


def test_resolve_with_explicit_resolution(world, move):
    issue = world.issue("in_review")
    response = move(world.users["developer"], issue, "resolved", resolution="obsolete")
    assert response.status_code == 200
    assert response.json()["resolution"] == "obsolete"
    issue.refresh_from_db()
    assert issue.resolution == "obsolete"
    assert issue.events.get().resolution == "obsolete"


def test_reopen_clears_resolution_and_dates(world, move):
    issue = world.issue("closed", resolved_at=timezone.now(), closed_at=timezone.now())
    response = move(world.users["developer"], issue, "open", comment="Still broken on Safari.")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["resolution"], body["resolved_at"], body["closed_at"]) == (
        "open",
        None,
        None,
        None,
    )
    issue.refresh_from_db()
    assert (issue.resolution, issue.resolved_at, issue.closed_at) == ("", None, None)


@pytest.mark.parametrize("visibility", ["private", "internal"])
def test_outsiders_and_anonymous(world, move, visibility):
    world.project.visibility = visibility
    world.project.save()
    issue = world.issue("in_review")
    before = state(issue)

    anonymous = move(None, issue, "resolved")
    assert_problem(anonymous, 401, "not_authenticated")

    outsider = UserFactory()
    response = move(outsider, issue, "resolved")
    if visibility == "internal":
        body = assert_problem(response, 403, "permission_denied")
        assert body["rule"] == "resolve"
    else:
        body = assert_problem(response, 404, "not_found")
        missing = move(outsider, f"{issue.key}0", "resolved")
        missing_body = missing.json()
        assert body.pop("instance") != missing_body.pop("instance")
        assert body == missing_body
        assert issue.title not in response.content.decode()
    assert state(issue) == before


@pytest.mark.parametrize("name,source,target", TRANSITIONS, ids=map(edge_id, TRANSITIONS))
def test_archived_project_refuses_transitions(world, move, name, source, target):
    issue = world.issue(source)
    world.project.archived_at = timezone.now()
    world.project.save()
    before = state(issue)

    response = move(world.users["owner"], issue, target, **inputs(name, source))

    assert_problem(response, 403, "project_archived")
    assert state(issue) == before


def test_status_cannot_be_set_by_patch(world, client_for):
    issue = world.issue("open")
    before = state(issue)
    for kind in ("owner", "site_admin"):
        response = client_for(world.users[kind]).patch(
            f"/api/v1/issues/{issue.key}",
            {"status": "closed", "resolution": "fixed", "closed_at": "2024-01-01T00:00:00Z"},
            format="json",
        )
        body = assert_problem(response, 400, "invalid")
        assert [e["field"] for e in body["errors"]] == ["status"]
        assert state(issue) == before
        assert issue.closed_at is None


def test_keys_are_case_insensitive(world, move):
    issue = world.issue("open")
    response = move(world.users["assignee"], issue.key.lower(), "in_progress")
    assert response.status_code == 200, response.content
    assert response.json()["key"] == issue.key
    assert Issue.objects.get(pk=issue.pk).status == "in_progress"


# -- GET /issues/{key}/transitions -------------------------------------------------------


@pytest.mark.parametrize("source", STATUSES)
@pytest.mark.parametrize("kind", ACTORS)
def test_transitions_endpoint(world, client_for, source, kind):
    issue = world.issue(source, kind)
    response = client_for(world.users[kind]).get(f"/api/v1/issues/{issue.key}/transitions")
    assert response.status_code == 200
    options = response.json()
    assert sorted(o["target"] for o in options) == REACHABLE[source]
    for option in options:
        assert set(option) == {"name", "target", "allowed", "reason", "requires"}
        assert option["allowed"] == (kind in MAY[option["name"]])
        assert (option["reason"] is None) == option["allowed"]
        assert option["requires"] == requires(option["name"], source)


def test_transitions_endpoint_names_the_unmet_rule(world, client_for):
    issue = world.issue("open", assignee=False)
    response = client_for(world.users["maintainer"]).get(f"/api/v1/issues/{issue.key}/transitions")
    options = {o["target"]: o for o in response.json()}
    assert options["in_progress"] == {
        "name": "start",
        "target": "in_progress",
        "allowed": False,
        "reason": "The issue must have an assignee.",
        "requires": [],
    }
    assert options["closed"]["allowed"] is True
    assert options["closed"]["requires"] == ["resolution"]


def test_transitions_endpoint_hides_private_issues(world, client_for):
    issue = world.issue("open")
    outsider = client_for(UserFactory())
    response = outsider.get(f"/api/v1/issues/{issue.key}/transitions")
    assert_problem(response, 404, "not_found")
    assert issue.title not in response.content.decode()
    assert_problem(
        client_for(None).get(f"/api/v1/issues/{issue.key}/transitions"), 401, "not_authenticated"
    )


# -- the history the transitions leave ----------------------------------------------------


def test_events_list_transitions_and_their_comments_oldest_first(world, move, client_for):
    issue = world.issue("open")
    assert move(world.users["assignee"], issue, "in_progress").status_code == 200
    assert move(world.users["assignee"], issue, "in_review").status_code == 200
    response = move(world.users["developer"], issue, "in_progress", comment="Add a test.")
    assert response.status_code == 200
    assert (
        move(world.users["maintainer"], issue, "closed", resolution="obsolete").status_code == 200
    )

    response = client_for(world.users["viewer"]).get(f"/api/v1/issues/{issue.key}/events")

    assert response.status_code == 200, response.content
    events = response.json()["results"]
    assert [(e["kind"], e["from_status"], e["to_status"]) for e in events] == [
        ("transitioned", "open", "in_progress"),
        ("transitioned", "in_progress", "in_review"),
        ("transitioned", "in_review", "in_progress"),
        ("transitioned", "in_progress", "closed"),
    ]
    assert [e["actor"]["username"] for e in events] == [
        world.users[kind].username for kind in ("assignee", "assignee", "developer", "maintainer")
    ]
    assert [e["resolution"] for e in events] == [None, None, None, "obsolete"]
    comment = issue.comments.get()
    assert [e["comment"] for e in events] == [None, None, comment.pk, None]
    assert comment.body == "Add a test."
