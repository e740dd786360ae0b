"""Issues through the API: create, read, edit, delete, numbering, history and list cost."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from issues import services
from issues.models import Issue, IssueEvent
from projects.models import Project, Role
from tests.factories import (
    CommentFactory,
    IssueFactory,
    LabelFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def create(client, project, **data):
    return client.post("/api/v1/issues", {"project": project.key, **data}, format="json")


def errors_of(response) -> list[str]:
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    return [e["field"] for e in response.json()["errors"]]


def snapshot(issue: Issue) -> dict:
    issue = Issue.objects.get(pk=issue.pk)
    return {
        "title": issue.title,
        "description": issue.description,
        "type": issue.type,
        "priority": issue.priority,
        "status": issue.status,
        "assignee": issue.assignee_id,
        "labels": sorted(issue.labels.values_list("pk", flat=True)),
        "due_date": issue.due_date,
        "events": issue.events.count(),
    }


# -- create -----------------------------------------------------------------------------


def test_create_returns_the_issue_and_records_it(project, owner, developer, client_for):
    bug = LabelFactory(project=project, name="Bug")
    response = create(
        client_for(owner),
        project,
        title="Crash on save",
        description="Steps: ...",
        type="bug",
        priority="highest",
        assignee=developer.username.upper(),
        labels=["bug"],
        due_date="2030-01-31",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    issue = Issue.objects.get(pk=body["id"])
    assert body["key"] == f"{project.key}-1" == issue.key
    assert body["number"] == 1
    assert body["project"] == {"id": project.pk, "key": project.key, "name": project.name}
    assert (body["title"], body["description"], body["type"]) == (
        "Crash on save",
        "Steps: ...",
        "bug",
    )
    assert body["priority"] == "highest"
    assert issue.priority == Issue.Priority.HIGHEST == 5
    assert (body["status"], body["resolution"]) == ("open", None)
    assert body["reporter"]["username"] == owner.username
    assert body["assignee"]["username"] == developer.username
    assert body["labels"] == [{"id": bug.pk, "name": "Bug", "color": bug.color}]
    assert body["due_date"] == "2030-01-31"
    assert body["resolved_at"] is None and body["closed_at"] is None
    assert (issue.reporter, issue.assignee) == (owner, developer)
    event = issue.events.get()
    assert (event.kind, event.actor, event.to_status) == ("created", owner, "open")


def test_create_defaults(project, member_of, client_for):
    reporter = member_of(project, "reporter")
    response = create(client_for(reporter), project, title="Minimal")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["type"], body["priority"], body["assignee"], body["labels"]) == (
        "task",
        "medium",
        None,
        [],
    )
    assert body["reporter"]["username"] == reporter.username


def test_client_cannot_choose_reporter_status_or_number(project, owner, client_for):
    other = UserFactory()
    client = client_for(owner)
    response = create(client, project, title="Sneaky", status="closed")
    assert errors_of(response) == ["status"]
    assert not Issue.objects.exists()
    response = create(
        client, project, title="Sneaky", reporter=other.username, number=99, resolution="fixed"
    )
    assert response.status_code == 201, response.content
    issue = Issue.objects.get(pk=response.json()["id"])
    assert (issue.reporter, issue.status, issue.number, issue.resolution) == (
        owner,
        "open",
        1,
        "",
    )


def test_create_under_the_project_url(project, owner, client_for):
    elsewhere = ProjectFactory()
    MembershipFactory(project=elsewhere, user=owner, role=Role.OWNER)
    response = client_for(owner).post(
        f"/api/v1/projects/{project.key.lower()}/issues",
        {"title": "Nested", "project": elsewhere.key},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["key"] == f"{project.key}-1"
    assert Issue.objects.get().project == project
    assert not elsewhere.issues.exists()


def test_numbers_are_sequential_per_project_and_never_reused(project, owner, client_for):
    client = client_for(owner)
    other = ProjectFactory()
    MembershipFactory(project=other, user=owner, role=Role.OWNER)
    keys = [create(client, project, title=f"n{i}").json()["key"] for i in range(3)]
    assert keys == [f"{project.key}-1", f"{project.key}-2", f"{project.key}-3"]
    assert create(client, other, title="first there").json()["key"] == f"{other.key}-1"

    assert client.delete(f"/api/v1/issues/{project.key}-3").status_code == 204
    assert create(client, project, title="after delete").json()["number"] == 4
    assert sorted(project.issues.values_list("number", flat=True)) == [1, 2, 4]


def test_a_failed_creation_does_not_use_up_a_number(project, owner, developer):
    with pytest.raises(ValidationError):
        services.issue_create(project=project, reporter=owner, title="")  # fails after numbering
    project.refresh_from_db()
    assert project.last_issue_number == 0
    assert not project.issues.exists()
    issue = services.issue_create(project=project, reporter=owner, title="ok")
    assert issue.number == 1


@pytest.mark.parametrize(
    "data,field",
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"description": "x" * 50_001}, "description"),
        ({"type": "epic"}, "type"),
        ({"priority": "urgent"}, "priority"),
        ({"priority": 3}, "priority"),
        ({"due_date": "tomorrow"}, "due_date"),
        ({"assignee": "nobody-here"}, "assignee"),
        ({"labels": ["missing"]}, "labels"),
        ({"labels": "bug"}, "labels"),
        ({"labels": [True]}, "labels.0"),
        ({"project": ""}, "project"),
        ({"project": "NOSUCH"}, "project"),
    ],
)
def test_create_validation(project, owner, client_for, data, field):
    payload = {"project": project.key, "title": "Valid", **data}
    response = client_for(owner).post("/api/v1/issues", payload, format="json")
    assert field in errors_of(response)
    assert not Issue.objects.exists()
    project.refresh_from_db()
    assert project.last_issue_number == 0


def test_create_accepts_the_longest_title_and_description(project, owner, client_for):
    response = create(client_for(owner), project, title="t" * 200, description="d" * 50_000)
    assert response.status_code == 201, response.content
    issue = Issue.objects.get()
    assert (len(issue.title), len(issue.description)) == (200, 50_000)


def test_project_is_required_at_the_top_level(owner, client_for):
    response = client_for(owner).post("/api/v1/issues", {"title": "Where?"}, format="json")
    assert errors_of(response) == ["project"]


def test_hidden_project_reads_as_nonexistent_on_create(project, client_for):
    outsider = client_for(UserFactory())
    hidden = outsider.post(
        "/api/v1/issues", {"project": project.key, "title": "x"}, format="json"
    ).json()
    missing = outsider.post(
        "/api/v1/issues", {"project": "NOSUCH", "title": "x"}, format="json"
    ).json()
    assert hidden["errors"][0]["message"].replace(project.key, "NOSUCH") == (
        missing["errors"][0]["message"]
    )
    assert not Issue.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "reporter", "maintainer"])
def test_assignee_must_be_a_developer_or_above(project, owner, member_of, client_for, role):
    candidate = member_of(project, role)
    response = create(client_for(owner), project, title="Who?", assignee=candidate.username)
    if role == "maintainer":
        assert response.status_code == 201, response.content
        assert Issue.objects.get().assignee == candidate
    else:
        assert errors_of(response) == ["assignee"]
        assert candidate.username in response.json()["errors"][0]["message"]
        assert not Issue.objects.exists()


def test_assignee_must_be_an_active_member(project, owner, client_for):
    outsider = UserFactory()
    gone = UserFactory(is_active=False)
    MembershipFactory(project=project, user=gone, role=Role.DEVELOPER)
    for candidate in (outsider, gone):
        response = create(client_for(owner), project, title="Who?", assignee=candidate.username)
        assert errors_of(response) == ["assignee"]
    assert not Issue.objects.exists()


def test_only_developers_assign_when_creating(project, developer, member_of, client_for):
    reporter = client_for(member_of(project, "reporter"))
    response = create(reporter, project, title="Mine", assignee=developer.username)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    nested = reporter.post(
        f"/api/v1/projects/{project.key}/issues",
        {"title": "Mine", "assignee": developer.username},
        format="json",
    )
    assert nested.status_code == 403
    assert not Issue.objects.exists()
    response = create(client_for(developer), project, title="Mine", assignee=developer.username)
    assert response.status_code == 201
    assert Issue.objects.get().assignee == developer


def test_labels_of_another_project_are_refused(project, owner, client_for):
    foreign = LabelFactory(project=ProjectFactory(), name="foreign")
    for ref in (foreign.pk, str(foreign.pk), "foreign"):
        response = create(client_for(owner), project, title="x", labels=[ref])
        assert errors_of(response) == ["labels"]
    assert not Issue.objects.exists()


def test_labels_by_id_or_name_without_duplicates(project, owner, client_for):
    ui = LabelFactory(project=project, name="UI")
    api = LabelFactory(project=project, name="api")
    response = create(client_for(owner), project, title="x", labels=[ui.pk, "ui", "API"])
    assert response.status_code == 201, response.content
    assert sorted(label["name"] for label in response.json()["labels"]) == ["UI", "api"]
    assert set(Issue.objects.get().labels.all()) == {ui, api}


# -- read -------------------------------------------------------------------------------


def test_detail_by_key_in_any_case(project, owner, client_for):
    issue = IssueFactory(project=project)
    for key in (issue.key, issue.key.lower()):
        response = client_for(owner).get(f"/api/v1/issues/{key}")
        assert response.status_code == 200
        assert (response.json()["id"], response.json()["key"]) == (issue.pk, issue.key)


@pytest.mark.parametrize(
    "key",
    ["{p}-0", "{p}-2", "{p}-x", "{p}", "-1", "{p}--1", "NOSUCH-1", "{p}-99999999999999999999"],
)
def test_malformed_or_unknown_keys_are_404(project, owner, client_for, key):
    IssueFactory(project=project)
    response = client_for(owner).get(f"/api/v1/issues/{key.format(p=project.key)}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_list_shows_only_visible_issues(project, client_for):
    mine = IssueFactory(project=project)
    internal = ProjectFactory(visibility="internal")
    readable = IssueFactory(project=internal)
    IssueFactory(project=ProjectFactory(visibility="private"))
    response = client_for(project.created_by).get("/api/v1/issues")
    assert response.status_code == 200
    assert sorted(i["key"] for i in response.json()["results"]) == sorted([mine.key, readable.key])
    outsider = client_for(UserFactory()).get("/api/v1/issues").json()["results"]
    assert [i["key"] for i in outsider] == [readable.key]


def test_site_admin_lists_every_issue(project, site_admin, client_for):
    issues = [IssueFactory(project=project), IssueFactory(project=ProjectFactory())]
    response = client_for(site_admin).get("/api/v1/issues")
    assert sorted(i["key"] for i in response.json()["results"]) == sorted(i.key for i in issues)


def test_project_issue_list(project, client_for):
    ours = [IssueFactory(project=project) for _ in range(2)]
    other = ProjectFactory()
    MembershipFactory(project=other, user=project.created_by, role=Role.OWNER)
    IssueFactory(project=other)
    response = client_for(project.created_by).get(f"/api/v1/projects/{project.key}/issues")
    assert response.status_code == 200
    assert sorted(i["key"] for i in response.json()["results"]) == sorted(i.key for i in ours)


def test_priority_sorts_by_rank(project):
    for priority in (Issue.Priority.LOW, Issue.Priority.HIGHEST, Issue.Priority.LOWEST):
        IssueFactory(project=project, priority=priority)
    IssueFactory(project=project, priority=Issue.Priority.MEDIUM)
    IssueFactory(project=project, priority=Issue.Priority.HIGH)
    by_rank = Issue.objects.order_by("priority").values_list("priority", flat=True)
    assert [Issue.Priority(p).label for p in by_rank] == [
        "lowest",
        "low",
        "medium",
        "high",
        "highest",
    ]


# -- edit -------------------------------------------------------------------------------


def test_edit_records_every_changed_field(project, developer, member_of, client_for):
    other_dev = member_of(project, "developer")
    old_label = LabelFactory(project=project, name="old")
    new_label = LabelFactory(project=project, name="new")
    issue = IssueFactory(
        project=project,
        title="Before",
        assignee=developer,
        priority=Issue.Priority.LOW,
        due_date=datetime.date(2030, 1, 1),
        type="task",
    )
    issue.labels.set([old_label])

    response = client_for(developer).patch(
        f"/api/v1/issues/{issue.key}",
        {
            "title": "After",
            "description": "New text",
            "type": "bug",
            "priority": "high",
            "assignee": other_dev.username,
            "labels": [new_label.pk, "old"],
            "due_date": None,
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["title"], body["type"], body["priority"], body["due_date"]) == (
        "After",
        "bug",
        "high",
        None,
    )
    assert body["assignee"]["username"] == other_dev.username
    assert sorted(label["name"] for label in body["labels"]) == ["new", "old"]
    changes = {
        e.field: (e.old_value, e.new_value, e.actor)
        for e in issue.events.filter(kind=IssueEvent.Kind.CHANGED)
    }
    assert changes == {
        "title": ("Before", "After", developer),
        "description": (None, None, developer),
        "type": ("task", "bug", developer),
        "priority": ("low", "high", developer),
        "assignee": (developer.username, other_dev.username, developer),
        "labels": (["old"], ["new", "old"], developer),
        "due_date": ("2030-01-01", None, developer),
    }
    issue.refresh_from_db()
    assert (issue.title, issue.assignee, issue.priority) == ("After", other_dev, 4)


def test_edit_without_changes_records_nothing(project, developer, client_for):
    issue = IssueFactory(project=project, title="Same", assignee=developer)
    updated_at = issue.updated_at
    response = client_for(developer).patch(
        f"/api/v1/issues/{issue.key}",
        {"title": "Same", "assignee": developer.username, "labels": []},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["title"] == "Same"
    assert not issue.events.exists()
    issue.refresh_from_db()
    assert issue.updated_at == updated_at


def test_unassign(project, developer, client_for):
    issue = IssueFactory(project=project, assignee=developer)
    response = client_for(developer).patch(
        f"/api/v1/issues/{issue.key}", {"assignee": None}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["assignee"] is None
    event = issue.events.get()
    assert (event.field, event.old_value, event.new_value) == (
        "assignee",
        developer.username,
        None,
    )


@pytest.mark.parametrize(
    "data,field",
    [
        ({"title": ""}, "title"),
        ({"priority": "p1"}, "priority"),
        ({"assignee": "ghost"}, "assignee"),
        ({"labels": ["nope"]}, "labels"),
        ({"description": "x" * 50_001}, "description"),
    ],
)
def test_edit_validation_changes_nothing(project, developer, client_for, data, field):
    issue = IssueFactory(project=project)
    issue.labels.set([LabelFactory(project=project)])
    before = snapshot(issue)
    response = client_for(developer).patch(f"/api/v1/issues/{issue.key}", data, format="json")
    assert errors_of(response) == [field]
    assert snapshot(issue) == before


def test_edit_refuses_assignees_below_developer_and_foreign_labels(
    project, developer, member_of, client_for
):
    issue = IssueFactory(project=project)
    before = snapshot(issue)
    reporter = member_of(project, "reporter")
    foreign = LabelFactory(project=ProjectFactory())
    client = client_for(developer)
    url = f"/api/v1/issues/{issue.key}"
    assert errors_of(client.patch(url, {"assignee": reporter.username}, format="json")) == [
        "assignee"
    ]
    assert errors_of(client.patch(url, {"labels": [foreign.pk]}, format="json")) == ["labels"]
    assert snapshot(issue) == before


def test_reporter_edits_title_and_description_of_own_issues_only(project, member_of, client_for):
    reporter = member_of(project, "reporter")
    own = IssueFactory(project=project, reporter=reporter, title="Mine")
    others = IssueFactory(project=project, title="Theirs")
    client = client_for(reporter)

    response = client.patch(
        f"/api/v1/issues/{own.key}", {"title": "Mine, clearer", "description": "x"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Mine, clearer"
    assert own.events.filter(field="title").get().new_value == "Mine, clearer"

    before_own, before_others = snapshot(own), snapshot(others)
    response = client.patch(f"/api/v1/issues/{own.key}", {"priority": "highest"}, format="json")
    assert response.status_code == 403
    assert "title and description" in response.json()["detail"]
    response = client.patch(f"/api/v1/issues/{others.key}", {"title": "Hijack"}, format="json")
    assert response.status_code == 403
    assert (snapshot(own), snapshot(others)) == (before_own, before_others)


def test_patch_cannot_set_the_status(project, developer, client_for):
    issue = IssueFactory(project=project)
    before = snapshot(issue)
    response = client_for(developer).patch(
        f"/api/v1/issues/{issue.key}", {"status": "closed"}, format="json"
    )
    assert errors_of(response) == ["status"]
    assert "/status" in response.json()["errors"][0]["message"]
    assert snapshot(issue) == before


def test_put_is_not_offered(project, developer, client_for):
    issue = IssueFactory(project=project, title="Keep")
    response = client_for(developer).put(
        f"/api/v1/issues/{issue.key}", {"title": "Replaced"}, format="json"
    )
    assert response.status_code == 405
    issue.refresh_from_db()
    assert issue.title == "Keep"


# -- delete -----------------------------------------------------------------------------


def test_delete_removes_comments_and_history(project, member_of, client_for):
    maintainer = member_of(project, "maintainer")
    issue = IssueFactory(project=project)
    CommentFactory(issue=issue)
    services.issue_update(issue=issue, actor=maintainer, title="Changed")
    response = client_for(maintainer).delete(f"/api/v1/issues/{issue.key}")
    assert response.status_code == 204
    assert not Issue.objects.filter(pk=issue.pk).exists()
    assert not IssueEvent.objects.exists()
    assert not issue.comments.exists()
    assert client_for(maintainer).get(f"/api/v1/issues/{issue.key}").status_code == 404


@pytest.mark.parametrize("role", ["reporter", "developer"])
def test_below_maintainer_cannot_delete(project, member_of, client_for, role):
    user = member_of(project, role)
    issue = IssueFactory(project=project, reporter=user)
    response = client_for(user).delete(f"/api/v1/issues/{issue.key}")
    assert response.status_code == 403
    assert Issue.objects.filter(pk=issue.pk).exists()


# -- archived projects ------------------------------------------------------------------


def test_archived_project_issues_are_read_only(project, owner, client_for):
    issue = IssueFactory(project=project)
    before = snapshot(issue)
    Project.objects.filter(pk=project.pk).update(archived_at=issue.created_at)
    client = client_for(owner)
    responses = [
        create(client, project, title="New"),
        client.post(f"/api/v1/projects/{project.key}/issues", {"title": "New"}, format="json"),
        client.patch(f"/api/v1/issues/{issue.key}", {"title": "Edited"}, format="json"),
        client.delete(f"/api/v1/issues/{issue.key}"),
    ]
    for response in responses:
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "project_archived"
    assert Issue.objects.count() == 1
    assert snapshot(issue) == before
    assert client.get(f"/api/v1/issues/{issue.key}").status_code == 200


# -- history ----------------------------------------------------------------------------


def test_events_oldest_first_with_every_kind(project, owner, developer, client_for):
    client = client_for(owner)
    key = create(client, project, title="History", assignee=developer.username).json()["key"]
    client.patch(f"/api/v1/issues/{key}", {"priority": "low"}, format="json")
    client.post(f"/api/v1/issues/{key}/comments", {"body": "First!"}, format="json")
    client_for(developer).post(f"/api/v1/issues/{key}/status", {"status": "in_progress"})

    response = client.get(f"/api/v1/issues/{key}/events")

    assert response.status_code == 200
    events = response.json()["results"]
    assert [(e["kind"], e["field"], e["to_status"]) for e in events] == [
        ("created", None, "open"),
        ("changed", "priority", None),
        ("commented", None, None),
        ("transitioned", None, "in_progress"),
    ]
    assert (events[1]["old_value"], events[1]["new_value"]) == ("medium", "low")
    comment = Issue.objects.get(project=project, number=1).comments.get()
    assert events[2]["comment"] == comment.pk
    assert [e["actor"]["username"] for e in events] == [owner.username] * 3 + [developer.username]


def test_events_of_a_hidden_issue_are_404(project, client_for):
    issue = IssueFactory(project=project)
    response = client_for(UserFactory()).get(f"/api/v1/issues/{issue.key}/events")
    assert response.status_code == 404
    assert issue.title not in response.content.decode()


# -- list cost --------------------------------------------------------------------------

# Queries per list request, whatever the page size: authentication (the token
# blocklist, when Redis is not configured, and the user), the project or issue
# the list hangs off and the caller's role in it (or, for every project, the ids of
# those the caller sees), the count, the page and its prefetched labels.
LIST_QUERIES = {
    "issues": 7,
    "project issues": 7,
    "events": 7,
}


@pytest.fixture
def busy_project(project, member_of):
    """A project with enough issues, labels, assignees and history to expose N+1s."""
    labels = [LabelFactory(project=project) for _ in range(3)]
    developers = [member_of(project, "developer") for _ in range(3)]
    issues = []
    for n in range(12):
        issue = IssueFactory(project=project, assignee=developers[n % 3])
        issue.labels.set(labels[: n % 4])
        issues.append(issue)
    for n in range(12):
        services.issue_update(issue=issues[0], actor=developers[n % 3], title=f"Title {n}")
        CommentFactory(issue=issues[0], author=developers[n % 3])
    return project, issues[0]


@pytest.mark.parametrize("page_size", [1, 100])
@pytest.mark.parametrize("name", list(LIST_QUERIES))
def test_list_query_count_is_constant(
    busy_project, client_for, django_assert_max_num_queries, name, page_size
):
    project, issue = busy_project
    url = {
        "issues": "/api/v1/issues",
        "project issues": f"/api/v1/projects/{project.key}/issues",
        "events": f"/api/v1/issues/{issue.key}/events",
    }[name]
    client = client_for(project.created_by)
    with django_assert_max_num_queries(LIST_QUERIES[name]):
        response = client.get(url, {"page_size": page_size})
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(page_size, 12)
