"""POST /api/v1/issues/bulk: one change to many issues, atomic or partial, dry or real."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import Event
from issues.models import Issue, IssueEvent
from projects.models import Membership, Role
from tests.factories import IssueFactory, LabelFactory, MembershipFactory, ProjectFactory
from tests.matrix import CALLERS, TOKENS
from tests.state import EVERY_MODEL, database_state

pytestmark = pytest.mark.django_db

URL = "/api/v1/issues/bulk"


def snapshot():
    """Every row a bulk edit could write, the outbox included."""
    return database_state(EVERY_MODEL)


@pytest.fixture
def issues(project, owner):
    return [IssueFactory(project=project, reporter=owner) for _ in range(3)]


def bulk(client, keys, changes, **options):
    return client.post(URL, {"issues": keys, "changes": changes, **options}, format="json")


def stored(issue):
    return Issue.objects.get(pk=issue.pk)


def test_atomic_edit_changes_every_issue_and_answers_each(client_for, owner, developer, issues):
    response = bulk(
        client_for(owner),
        [i.key for i in issues],
        {"priority": "high", "assignee": developer.username},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["mode"], body["dry_run"], body["succeeded"], body["failed"]) == (
        "atomic",
        False,
        3,
        0,
    )
    assert [r["key"] for r in body["results"]] == [i.key for i in issues]
    for result, issue in zip(body["results"], issues, strict=True):
        assert result["status"] == 200 and result["errors"] == []
        assert result["issue"]["priority"] == "high"
        assert result["issue"]["assignee"]["username"] == developer.username
        assert stored(issue).priority == Issue.Priority.HIGH
        assert stored(issue).assignee == developer
        # The ETag a GET of the issue now answers with.
        assert result["etag"] == client_for(owner).get(f"/api/v1/issues/{issue.key}")["ETag"]
    # The normal per-issue events, each carrying the edit's bulk_id.
    events = Event.objects.filter(type=Event.Type.ISSUE_UPDATED)
    assert events.count() == 3
    assert {str(e.bulk_id) for e in events} == {body["bulk_id"]}
    assert IssueEvent.objects.filter(kind=IssueEvent.Kind.CHANGED).count() == 6


def test_atomic_edit_with_a_failing_issue_in_the_middle_changes_none(
    client_for, owner, issues, other_user
):
    stranger_issue = IssueFactory(project=ProjectFactory(visibility="private"))
    keys = [issues[0].key, stranger_issue.key, "NOPE-9", issues[1].key]
    before = snapshot()
    response = bulk(client_for(owner), keys, {"title": "Triaged"})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "bulk_refused"
    # The hidden issue fails exactly as a key that names nothing.
    assert [(e["key"], e["status"], e["code"]) for e in body["errors"]] == [
        (stranger_issue.key, 404, "not_found"),
        ("NOPE-9", 404, "not_found"),
    ]
    assert snapshot() == before
    assert Issue.objects.filter(title="Triaged").count() == 0


def test_partial_edit_reports_each_issue_and_keeps_the_successes(
    client_for, owner, developer, issues
):
    outsider = IssueFactory(project=ProjectFactory(visibility="private"))
    keys = [issues[0].key, outsider.key, issues[1].key]
    response = bulk(client_for(owner), keys, {"due_date": "2027-01-31"}, mode="partial")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["succeeded"], body["failed"]) == (2, 1)
    middle = body["results"][1]
    assert middle == {
        "key": outsider.key,
        "status": 404,
        "issue": None,
        "etag": None,
        "errors": [{"field": "issue", "message": "Not found.", "code": "not_found"}],
    }
    assert str(stored(issues[0]).due_date) == "2027-01-31"
    assert str(stored(issues[1]).due_date) == "2027-01-31"
    assert stored(outsider).due_date is None
    assert Event.objects.filter(type=Event.Type.ISSUE_UPDATED).count() == 2


def test_a_validation_error_names_the_issue_and_the_field(
    client_for, owner, issues, member_of, project
):
    other = ProjectFactory(visibility="private")
    MembershipFactory(project=other, user=owner, role=Role.OWNER)
    foreign = IssueFactory(project=other)
    developer = member_of(project, "developer")  # a developer of the first project only
    response = bulk(
        client_for(owner), [issues[0].key, foreign.key], {"assignee": developer.username}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "key": foreign.key,
            "status": 400,
            "field": "assignee",
            "message": f"{developer.username} is not a developer (or above) of this project.",
            "code": "invalid",
        }
    ]
    assert stored(issues[0]).assignee is None


def test_a_stale_if_match_fails_that_issue_with_412(client_for, owner, issues):
    client = client_for(owner)
    fresh = client.get(f"/api/v1/issues/{issues[0].key}")["ETag"]
    stale = client.get(f"/api/v1/issues/{issues[1].key}")["ETag"]
    client.patch(f"/api/v1/issues/{issues[1].key}", {"title": "Changed meanwhile"}, format="json")
    targets = [
        {"key": issues[0].key, "if_match": fresh},
        {"key": issues[1].key, "if_match": stale},
    ]
    response = bulk(client, targets, {"priority": "low"}, mode="partial")
    assert response.status_code == 200
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == [200, 412]
    assert response.json()["results"][1]["errors"][0]["code"] == "precondition_failed"
    assert stored(issues[0]).priority == Issue.Priority.LOW
    assert stored(issues[1]).priority == Issue.Priority.MEDIUM


def test_a_developer_cannot_close_in_a_batch_what_they_could_not_close_singly(
    client_for, developer, project, owner
):
    own = IssueFactory(project=project, reporter=developer)
    others = IssueFactory(project=project, reporter=owner)
    single = client_for(developer).post(
        f"/api/v1/issues/{others.key}/status",
        {"status": "closed", "resolution": "wont_fix"},
        format="json",
    )
    assert single.status_code == 403
    before = snapshot()
    response = bulk(
        client_for(developer),
        [own.key, others.key],
        {"status": "closed", "resolution": "wont_fix"},
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["key"], error["status"], error["code"], error["field"]) == (
        others.key,
        403,
        "permission_denied",
        "status",
    )
    assert error["message"] == single.json()["detail"]
    assert snapshot() == before
    # Partial: the developer's own issue closes, the other stays open.
    response = bulk(
        client_for(developer),
        [own.key, others.key],
        {"status": "closed", "resolution": "wont_fix"},
        mode="partial",
    )
    assert [r["status"] for r in response.json()["results"]] == [200, 403]
    assert stored(own).status == "closed" and stored(own).resolution == "wont_fix"
    assert stored(others).status == "open"


def test_a_reporter_may_retitle_their_own_issues_but_not_reprioritise_them(
    client_for, reporter, project
):
    theirs = IssueFactory(project=project, reporter=reporter)
    ok = bulk(client_for(reporter), [theirs.key], {"title": "Clearer"})
    assert ok.status_code == 200 and stored(theirs).title == "Clearer"
    refused = bulk(client_for(reporter), [theirs.key], {"priority": "high"})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["status"] == 403


def test_the_workflow_applies_to_each_issue(client_for, owner, issues):
    response = bulk(
        client_for(owner), [i.key for i in issues[:2]], {"status": "in_progress"}, mode="partial"
    )
    results = response.json()["results"]
    # Starting work needs an assignee (a condition of the workflow).
    assert [(r["status"], r["errors"][0]["code"]) for r in results] == [
        (409, "rule_not_met"),
        (409, "rule_not_met"),
    ]
    assert {stored(i).status for i in issues[:2]} == {"open"}


def test_a_status_change_with_a_comment_records_it(client_for, owner, issues):
    response = bulk(
        client_for(owner),
        [issues[0].key],
        {"status": "closed", "resolution": "fixed", "comment": "Shipped in 2.1."},
    )
    assert response.status_code == 200, response.content
    issue = stored(issues[0])
    assert (issue.status, issue.resolution) == ("closed", "fixed")
    assert issue.comments.get().body == "Shipped in 2.1."
    entry = IssueEvent.objects.get(issue=issue, kind=IssueEvent.Kind.TRANSITIONED)
    assert entry.comment.body == "Shipped in 2.1."
    types = set(Event.objects.values_list("type", flat=True))
    assert types == {Event.Type.ISSUE_TRANSITIONED, Event.Type.COMMENT_CREATED}
    # Issues already in the target status stay as they are.
    again = bulk(client_for(owner), [issues[0].key], {"status": "closed"})
    assert again.status_code == 200
    assert Event.objects.count() == 2


def test_labels_are_added_and_removed_per_project(client_for, owner, project, issues):
    other = ProjectFactory(visibility="private")
    MembershipFactory(project=other, user=owner, role=Role.OWNER)
    foreign = IssueFactory(project=other)
    bug, v2, old = (LabelFactory(project=project, name=n) for n in ("bug", "v2", "old"))
    other_v2 = LabelFactory(project=other, name="v2")
    LabelFactory(project=other, name="bug")
    issues[0].labels.add(old, bug)
    response = bulk(
        client_for(owner),
        [issues[0].key, foreign.key],
        {"labels_add": ["V2"], "labels_remove": ["old"]},
        mode="partial",
    )
    results = response.json()["results"]
    assert [label["name"] for label in results[0]["issue"]["labels"]] == ["bug", "v2"]
    assert set(stored(issues[0]).labels.all()) == {bug, v2}
    # "old" names no label in the other project: that issue fails, naming the field.
    assert results[1]["status"] == 400
    assert results[1]["errors"][0]["field"] == "labels_remove"
    assert list(stored(foreign).labels.all()) == []
    response = bulk(client_for(owner), [foreign.key], {"labels_add": ["v2"]})
    assert response.status_code == 200
    assert list(stored(foreign).labels.all()) == [other_v2]


def test_a_dry_run_answers_what_a_real_run_would_and_changes_nothing(client_for, owner, issues):
    keys = [i.key for i in issues]
    changes = {"title": "Renamed", "status": "closed", "resolution": "fixed", "comment": "Done."}
    before = snapshot()
    dry = bulk(client_for(owner), keys, changes, dry_run=True)
    assert dry.status_code == 200, dry.content
    assert snapshot() == before
    assert dry.json()["dry_run"] is True and dry.json()["bulk_id"] is None
    real = bulk(client_for(owner), keys, changes)
    assert real.status_code == 200

    def comparable(body):
        return [
            {k: v for k, v in r["issue"].items() if k not in ("updated_at", "closed_at")}
            for r in body["results"]
        ]

    assert comparable(dry.json()) == comparable(real.json())
    # A refused dry run is the same 400 as the refused real run.
    hidden = IssueFactory(project=ProjectFactory(visibility="private"))
    before = snapshot()
    refused = bulk(client_for(owner), [keys[0], hidden.key], {"title": "x"}, dry_run=True)
    assert refused.status_code == 400
    assert [e["key"] for e in refused.json()["errors"]] == [hidden.key]
    assert snapshot() == before


def test_an_archived_project_refuses_its_issues(client_for, owner, project, issues):
    project.archived_at = "2026-01-01T00:00:00Z"
    project.save()
    response = bulk(client_for(owner), [issues[0].key], {"title": "x"}, mode="partial")
    result = response.json()["results"][0]
    assert result["errors"][0]["code"] == "project_archived"
    assert stored(issues[0]).title != "x"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"issues": [], "changes": {"title": "x"}}, "issues"),
        ({"issues": ["WEB-1", "web-1"], "changes": {"title": "x"}}, "issues"),
        ({"issues": ["not a key"], "changes": {"title": "x"}}, "issues.0"),
        ({"issues": [{"key": "WEB-1", "etag": "x"}], "changes": {"title": "x"}}, "issues.0"),
        ({"issues": ["WEB-1"], "changes": {}}, "changes.non_field_errors"),
        ({"issues": ["WEB-1"], "changes": {"titel": "x"}}, "changes.titel"),
        (
            {"issues": ["WEB-1"], "changes": {"labels": ["a"], "labels_add": ["b"]}},
            "changes.labels",
        ),
        ({"issues": ["WEB-1"], "changes": {"resolution": "fixed"}}, "changes.resolution"),
        ({"issues": ["WEB-1"], "changes": {"title": "x"}, "mode": "some"}, "mode"),
    ],
)
def test_a_bad_request_is_a_400_naming_the_field(client_for, owner, body, field):
    before = snapshot()
    response = client_for(owner).post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in {e["field"] for e in response.json()["errors"]}
    assert snapshot() == before


def test_the_limit_is_a_setting(client_for, owner, settings):
    settings.BULK_EDIT_MAX_ISSUES = 2
    response = bulk(client_for(owner), ["A-1", "A-2", "A-3"], {"title": "x"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "At most 2 issues per request."


def test_anonymous_callers_are_refused(api_client, issues):
    response = bulk(api_client, [issues[0].key], {"title": "x"})
    assert response.status_code == 401


def test_a_token_without_the_write_scope_changes_nothing(pat_client, owner, issues):
    client = pat_client(owner, ["read"])
    response = bulk(client, [issues[0].key], {"title": "x"}, mode="partial")
    assert response.status_code == 200
    assert response.json()["results"][0]["errors"][0]["code"] == "missing_scope"
    assert stored(issues[0]).title != "x"
    writer = pat_client(owner, ["read", "issues:write"])
    assert bulk(writer, [issues[0].key], {"title": "x"}).status_code == 200
    assert stored(issues[0]).title == "x"


def test_a_token_limited_to_projects_sees_no_other(pat_client, owner, project, issues):
    other = ProjectFactory(visibility="private")
    MembershipFactory(project=other, user=owner, role=Role.OWNER)
    elsewhere = IssueFactory(project=other)
    client = pat_client(owner, ["read", "issues:write"], projects=[project])
    response = bulk(client, [issues[0].key, elsewhere.key], {"title": "x"}, mode="partial")
    assert [r["status"] for r in response.json()["results"]] == [200, 404]


def test_an_idempotency_key_replays_the_first_answer(
    client_for, owner, issues, django_capture_on_commit_callbacks
):
    client = client_for(owner)
    headers = {"HTTP_IDEMPOTENCY_KEY": "bulk-1"}
    body = {"issues": [issues[0].key], "changes": {"status": "closed", "resolution": "fixed"}}
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(URL, body, format="json", **headers)
    again = client.post(URL, body, format="json", **headers)
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Event.objects.filter(type=Event.Type.ISSUE_TRANSITIONED).count() == 1
    # Only to a caller who still sees the issues it changed.
    Membership.objects.filter(user=owner).delete()
    assert client.post(URL, body, format="json", **headers).status_code == 404


def test_statements_do_not_grow_with_the_fields_changed(client_for, owner, developer, project):
    few = [IssueFactory(project=project) for _ in range(3)]
    many = [IssueFactory(project=project) for _ in range(3)]
    client = client_for(owner)

    def count(issues, changes):
        with CaptureQueriesContext(connection) as queries:
            response = bulk(client, [i.key for i in issues], changes)
        assert response.status_code == 200, response.content
        return len(queries)

    one_field = count(few, {"priority": "high"})
    five_fields = count(
        many,
        {
            "priority": "high",
            "title": "T",
            "type": "bug",
            "due_date": "2027-02-01",
            "assignee": developer.username,
        },
    )
    # The assignee's check is the one statement a field adds per issue.
    assert five_fields <= one_field + 1 + len(many)


@pytest.mark.parametrize(("mode", "per_issue"), [("atomic", 2), ("partial", 4)])
def test_statements_are_bounded_per_issue(client_for, owner, project, mode, per_issue):
    client = client_for(owner)

    def count(n):
        issues = [IssueFactory(project=project) for _ in range(n)]
        with CaptureQueriesContext(connection) as queries:
            response = bulk(client, [i.key for i in issues], {"priority": "low"}, mode=mode)
        assert response.json()["succeeded"] == n
        return len(queries)

    # Per issue: its UPDATE and its history; in partial mode also a savepoint and its
    # release, so that one issue's failure undoes only its own changes. The issues are read
    # and locked together, their labels in one more query, and the events of all of them
    # are one INSERT at the end.
    one = count(1)  # first: the request's fixed costs are paid once, by whichever runs first
    assert count(10) - one <= 9 * per_issue


# Who may change an issue's priority through a bulk edit: whoever may PATCH it, as a single
# request's rights say (edit_issue: developers and up), and only within what they see.
EDITORS = {"developer", "maintainer", "owner", "site_admin", "token"}


@pytest.mark.parametrize("visibility", ["private", "internal"])
@pytest.mark.parametrize("kind", [*CALLERS, *TOKENS])
def test_permission_matrix(client_as, kind, visibility):
    project = ProjectFactory(visibility=visibility)
    MembershipFactory(project=project, user=project.created_by, role=Role.OWNER)
    issue = IssueFactory(project=project)
    _, client = client_as(project, kind, "issues:write")
    single = client.patch(f"/api/v1/issues/{issue.key}", {"priority": "high"}, format="json")
    Issue.objects.filter(pk=issue.pk).update(priority=Issue.Priority.MEDIUM)
    before = snapshot()
    response = bulk(client, [issue.key], {"priority": "high"}, mode="partial")
    if kind == "anonymous":
        assert response.status_code == 401
        assert snapshot() == before
        return
    assert response.status_code == 200, response.content
    result = response.json()["results"][0]
    # The same answer as the single PATCH, issue by issue.
    assert result["status"] == single.status_code
    if kind in EDITORS:
        assert result["status"] == 200
        assert stored(issue).priority == Issue.Priority.HIGH
    else:
        expected = 404 if kind == "outsider" and visibility == "private" else 403
        assert result["status"] == expected
        assert snapshot() == before
