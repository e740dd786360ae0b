"""Issue list filters: which issues come back for each filter, alone and combined, with
the count under filters; and a 400 naming the parameter for every bad value."""

import datetime

import pytest

from issues.models import Issue
from projects.models import Role
from tests.factories import (
    IssueFactory,
    LabelFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
)
from tests.lists import assert_bad_param, keys, links, query

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


def day(month: int, day_: int = 1) -> datetime.datetime:
    return datetime.datetime(2024, month, day_, tzinfo=UTC)


@pytest.fixture
def world():
    """Two projects olivia owns (WEB with alice and bob as developers, API) and one she
    cannot see (SECRET), with issues spread over every filterable attribute."""
    olivia, alice, bob = (UserFactory(username=name) for name in ("olivia", "alice", "bob"))
    web = ProjectFactory(key="WEB", created_by=olivia)
    api = ProjectFactory(key="API", created_by=olivia)
    secret = ProjectFactory(key="SECRET")
    for project in (web, api):
        MembershipFactory(project=project, user=olivia, role=Role.OWNER)
    for dev in (alice, bob):
        MembershipFactory(project=web, user=dev, role=Role.DEVELOPER)
    bug, ui, backend = (LabelFactory(project=web, name=n) for n in ("Bug", "ui", "backend"))
    api_bug = LabelFactory(project=api, name="bug")
    LabelFactory(project=secret, name="secret-label")
    P = Issue.Priority
    rows = {
        # name: project, type, priority, status, resolution, assignee, reporter, labels, due
        "w1": (web, "bug", P.HIGHEST, "open", "", alice, olivia, [bug, ui], (1, 10)),
        "w2": (web, "feature", P.LOW, "in_progress", "", bob, alice, [ui], None),
        "w3": (web, "task", P.MEDIUM, "in_review", "", alice, bob, [bug], (3, 1)),
        "w4": (web, "bug", P.HIGH, "resolved", "fixed", None, olivia, [], (2, 1)),
        "w5": (web, "task", P.LOWEST, "closed", "wont_fix", None, alice, [bug, ui, backend], None),
        "a1": (api, "bug", P.HIGH, "open", "", olivia, olivia, [api_bug], (1, 10)),
    }
    issues = {}
    for n, (name, row) in enumerate(rows.items(), start=1):
        project, type_, priority, status, resolution, assignee, reporter, labels, due = row
        issue = IssueFactory(
            project=project,
            type=type_,
            priority=priority,
            status=status,
            resolution=resolution,
            assignee=assignee,
            reporter=reporter,
            due_date=datetime.date(2030, *due) if due else None,
            created_at=day(n),
        )
        issue.labels.set(labels)
        # updated ten days after creation, so the two ranges differ
        Issue.objects.filter(pk=issue.pk).update(updated_at=day(n, 11))
        issues[name] = issue
    hidden = IssueFactory(project=secret, type="bug", priority=P.HIGH, assignee=alice)
    hidden.labels.set(Issue.labels.field.related_model.objects.filter(project=secret))
    return {"olivia": olivia, "alice": alice, "bob": bob, "issues": issues}


@pytest.fixture
def olivia_client(world, client_for):
    return client_for(world["olivia"])


def names(world, response) -> set[str]:
    by_key = {issue.key: name for name, issue in world["issues"].items()}
    found = keys(response)
    assert len(found) == len(set(found)), found
    return {by_key[key] for key in found}


ALL = {"w1", "w2", "w3", "w4", "w5", "a1"}


def test_without_filters_every_visible_issue_and_nothing_hidden(world, olivia_client):
    response = olivia_client.get("/api/v1/issues")
    assert names(world, response) == ALL
    assert response.json()["count"] == 6


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"project": "WEB"}, {"w1", "w2", "w3", "w4", "w5"}),
        ({"project": "API"}, {"a1"}),
        ({"project": ["WEB", "API"]}, ALL),
        ({"status": "open"}, {"w1", "a1"}),
        ({"status": ["open", "in_review"]}, {"w1", "w3", "a1"}),
        ({"status": "closed"}, {"w5"}),
        ({"priority": "high"}, {"w4", "a1"}),
        ({"priority": ["high", "lowest"]}, {"w4", "w5", "a1"}),
        ({"priority": "medium"}, {"w3"}),
        ({"type": "bug"}, {"w1", "w4", "a1"}),
        ({"type": "feature"}, {"w2"}),
        ({"assignee": "alice"}, {"w1", "w3"}),
        ({"assignee": "ALICE"}, {"w1", "w3"}),
        ({"assignee": "me"}, {"a1"}),
        ({"assignee": "none"}, {"w4", "w5"}),
        ({"reporter": "alice"}, {"w2", "w5"}),
        ({"reporter": "me"}, {"w1", "w4", "a1"}),
        ({"label": "ui"}, {"w1", "w2", "w5"}),
        ({"label": "bug"}, {"w1", "w3", "w5", "a1"}),
        ({"label": "BUG"}, {"w1", "w3", "w5", "a1"}),
        ({"label": ["bug", "ui"]}, {"w1", "w5"}),
        ({"label": ["Bug", "ui", "backend"]}, {"w5"}),
        ({"created_after": "2024-03-01T00:00:00Z"}, {"w3", "w4", "w5", "a1"}),
        ({"created_before": "2024-03-01T00:00:00Z"}, {"w1", "w2"}),
        ({"created_after": "2024-02-01", "created_before": "2024-04-01"}, {"w2", "w3"}),
        ({"updated_after": "2024-03-11T00:00:00Z"}, {"w3", "w4", "w5", "a1"}),
        ({"updated_before": "2024-03-11T00:00:00+00:00"}, {"w1", "w2"}),
        ({"updated_after": "2024-01-12", "updated_before": "2024-02-12"}, {"w2"}),
        ({"due_after": "2030-02-01"}, {"w3", "w4"}),
        ({"due_before": "2030-02-01"}, {"w1", "w4", "a1"}),
        ({"due_after": "2030-01-11", "due_before": "2030-02-28"}, {"w4"}),
        ({"resolution": "fixed"}, {"w4"}),
        ({"resolution": "wont_fix"}, {"w5"}),
        ({"resolution": "duplicate"}, set()),
        ({"is_open": "true"}, {"w1", "w2", "w3", "a1"}),
        ({"is_open": "false"}, {"w4", "w5"}),
    ],
)
def test_each_filter_returns_exactly_the_matching_issues(world, olivia_client, params, expected):
    response = olivia_client.get("/api/v1/issues", params)
    assert names(world, response) == expected
    assert response.json()["count"] == len(expected)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"project": "WEB", "is_open": "true", "assignee": "alice"}, {"w1", "w3"}),
        ({"status": ["open", "in_progress"], "priority": ["highest", "low"]}, {"w1", "w2"}),
        ({"label": "ui", "type": "feature"}, {"w2"}),
        ({"label": "bug", "project": "API"}, {"a1"}),
        ({"type": "bug", "is_open": "true", "due_before": "2030-01-31"}, {"w1", "a1"}),
        ({"reporter": "olivia", "assignee": "none"}, {"w4"}),
        ({"created_after": "2024-02-01", "is_open": "false", "label": "backend"}, {"w5"}),
        ({"priority": "high", "status": "open", "project": "WEB"}, set()),
    ],
)
def test_filters_combine_with_and(world, olivia_client, params, expected):
    response = olivia_client.get("/api/v1/issues", params)
    assert names(world, response) == expected
    assert response.json()["count"] == len(expected)


def test_me_is_the_caller(world, client_for):
    alice = client_for(world["alice"])
    assert names(world, alice.get("/api/v1/issues", {"assignee": "me"})) == {"w1", "w3"}
    assert names(world, alice.get("/api/v1/issues", {"reporter": "me"})) == {"w2", "w5"}


def test_the_count_and_links_follow_the_filters(world, olivia_client):
    params = {"label": "bug", "is_open": "true", "page_size": 1, "ordering": "number"}
    first = olivia_client.get("/api/v1/issues", params)
    body = first.json()
    assert body["count"] == 3  # w1, w3, a1
    assert body["count_exact"] is True
    assert len(body["results"]) == 1
    next_query = query(body["next"])
    assert next_query["label"] == ["bug"]
    assert next_query["is_open"] == ["true"]
    assert next_query["page"] == ["2"]
    assert query(links(first)["last"])["page"] == ["3"]
    seen = keys(first)
    url = body["next"]
    while url:
        page = olivia_client.get(url)
        seen += keys(page)
        url = page.json()["next"]
    assert sorted(seen) == sorted(world["issues"][n].key for n in ("w1", "w3", "a1"))


def test_project_issue_list_takes_the_same_filters(world, olivia_client):
    web = olivia_client.get("/api/v1/projects/WEB/issues", {"assignee": "alice", "label": "ui"})
    assert names(world, web) == {"w1"}
    assert web.json()["count"] == 1
    api = olivia_client.get("/api/v1/projects/API/issues", {"assignee": "alice"})
    assert names(world, api) == set()
    assert api.json()["count"] == 0


def test_labels_and_users_are_matched_across_visible_projects_only(world, client_for):
    # alice sees WEB only: API's "bug" label exists but a1 is not hers to see.
    alice = client_for(world["alice"])
    assert names(world, alice.get("/api/v1/issues", {"label": "bug"})) == {"w1", "w3", "w5"}
    # A label that exists only in a project she cannot see is as unknown as no label.
    assert_bad_param(alice.get("/api/v1/issues", {"label": "secret-label"}), "label")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("project", "NOPE"),
        ("project", "SECRET"),  # exists, but not for this caller
        ("status", "done"),
        ("status", ["open", "bogus"]),
        ("priority", "urgent"),
        ("priority", "3"),
        ("type", "epic"),
        ("resolution", "maybe"),
        ("assignee", "ghost"),
        ("reporter", "ghost"),
        ("reporter", "none"),  # only assignee may be none
        ("label", "nope"),
        ("label", ["bug", "nope"]),
        ("created_after", "yesterday"),
        ("created_before", "2024-13-01"),
        ("updated_after", "2024-01-01T25:00:00Z"),
        ("updated_before", "01/02/2024"),
        ("due_after", "2024-02-30"),
        ("due_before", "soon"),
        ("is_open", "yes"),
    ],
)
def test_a_bad_filter_value_is_a_400_naming_the_parameter(world, olivia_client, name, value):
    for url in ("/api/v1/issues", "/api/v1/projects/WEB/issues"):
        assert_bad_param(olivia_client.get(url, {name: value}), name)
