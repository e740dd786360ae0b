"""What an issue shows of its relations (parent, children, blockers; `?expand=relations`),
the parent as a field of create, PATCH and bulk edit."""

import itertools

import pytest

from events.models import Event
from issues.models import Issue, IssueEvent, IssueRelation
from issues.representation import OPEN_STATUSES
from tests.factories import IssueFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def detail(client, issue, **params):
    return client.get(f"/api/v1/issues/{issue.key}", params)


def patch(client, issue, body):
    return client.patch(f"/api/v1/issues/{issue.key}", body, format="json")


def parents():
    return sorted(IssueRelation.objects.filter(type="parent").values_list("source", "target"))


@pytest.fixture
def dev(project, developer, client_for):
    return client_for(developer)


def test_the_representation_counts_statuses_as_the_model_does():
    assert set(Issue.OPEN_STATUSES) == OPEN_STATUSES


def test_an_issue_shows_its_parent_children_and_open_blockers(project, dev):
    parent = IssueFactory(project=project, title="Release 2")
    issue = IssueFactory(project=project)
    open_child = IssueFactory(project=project)
    done_child = IssueFactory(project=project, status="closed", resolution="fixed")
    blocker = IssueFactory(project=project)
    done_blocker = IssueFactory(project=project, status="resolved", resolution="fixed")
    IssueRelation.objects.create(source=issue, target=parent, type="parent")
    for child in (open_child, done_child):
        IssueRelation.objects.create(source=child, target=issue, type="parent")
    for other in (blocker, done_blocker):
        IssueRelation.objects.create(source=other, target=issue, type="blocks")

    body = detail(dev, issue).json()

    assert body["parent"] == {"key": parent.key, "title": "Release 2"}
    assert body["children"] == {"open": 1, "total": 2}
    assert (body["open_blockers"], body["blocked"]) == (1, True)
    assert "relations" not in body
    plain = detail(dev, blocker).json()
    assert (plain["parent"], plain["children"], plain["blocked"]) == (
        None,
        {"open": 0, "total": 0},
        False,
    )
    listed = {row["key"]: row for row in dev.get("/api/v1/issues").json()["results"]}
    assert {name: listed[issue.key][name] for name in body} == body


def test_issues_the_reader_cannot_see_are_not_counted(project, dev, client_for, owner):
    secret = ProjectFactory(visibility="private")
    issue = IssueFactory(project=project)
    hidden_parent = IssueFactory(project=secret, title="Secret plan")
    IssueRelation.objects.create(source=issue, target=hidden_parent, type="parent")
    IssueRelation.objects.create(source=IssueFactory(project=secret), target=issue, type="blocks")
    IssueRelation.objects.create(source=IssueFactory(project=secret), target=issue, type="parent")

    for body in (
        detail(dev, issue).json(),
        dev.get(f"/api/v1/projects/{project.key}/issues", {"expand": "relations"}).json()[
            "results"
        ][0],
    ):
        assert body["parent"] is None
        assert body["children"] == {"open": 0, "total": 0}
        assert (body["open_blockers"], body["blocked"]) == (0, False)
        assert "Secret" not in str(body) and secret.key not in str(body)
    assert detail(dev, issue, expand="relations").json()["relations"] == []
    # A site admin sees every project, and so every relation.
    admin = client_for(type(owner).objects.create_superuser("root", "root@example.com", "pw"))
    assert detail(admin, issue).json()["open_blockers"] == 1


def test_an_events_payload_counts_only_what_every_reader_of_the_project_sees(project, dev):
    issue = IssueFactory(project=project)
    IssueRelation.objects.create(
        source=IssueFactory(project=ProjectFactory(visibility="private")),
        target=issue,
        type="blocks",
    )
    IssueRelation.objects.create(source=IssueFactory(project=project), target=issue, type="blocks")

    assert patch(dev, issue, {"priority": "high"}).status_code == 200

    event = Event.objects.filter(type="issue.updated").latest("id")
    assert event.data["open_blockers"] == 1


def test_expand_relations_lists_them_on_the_detail_and_the_lists(
    project, dev, django_assert_max_num_queries
):
    issues = [IssueFactory(project=project) for _ in range(4)]
    for source, target in itertools.pairwise(issues):
        IssueRelation.objects.create(source=source, target=target, type="blocks")

    body = detail(dev, issues[1], expand="relations").json()
    assert [(r["type"], r["issue"]["key"]) for r in body["relations"]] == [
        ("blocked_by", issues[0].key),
        ("blocks", issues[2].key),
    ]
    assert (
        body["relations"] == dev.get(f"/api/v1/issues/{issues[1].key}/relations").json()["results"]
    )

    def listed(size):
        with django_assert_max_num_queries(12) as queries:
            response = dev.get("/api/v1/issues", {"expand": "relations", "page_size": size})
        assert response.status_code == 200
        return len(queries), response.json()["results"]

    few, _ = listed(1)
    many, rows = listed(100)
    assert few == many
    by_key = {row["key"]: row for row in rows}
    assert [r["issue"]["key"] for r in by_key[issues[3].key]["relations"]] == [issues[2].key]


def test_expanding_anything_else_is_a_400(project, dev):
    issue = IssueFactory(project=project)
    response = detail(dev, issue, expand="comments")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "expand"
    # Blank expands nothing, as no parameter.
    blank = detail(dev, issue, expand="")
    assert blank.status_code == 200 and "relations" not in blank.json()
    assert (
        dev.get(f"/api/v1/issues/{issue.key}/events", {"expand": "relations"}).status_code == 400
    )


def test_patch_sets_replaces_and_clears_the_parent(project, dev):
    issue, first, second = (IssueFactory(project=project) for _ in range(3))

    response = patch(dev, issue, {"parent": first.key.lower()})
    assert response.status_code == 200, response.content
    assert response.json()["parent"] == {"key": first.key, "title": first.title}
    assert parents() == [(issue.pk, first.pk)]
    assert detail(dev, first).json()["children"] == {"open": 1, "total": 1}

    assert patch(dev, issue, {"parent": second.key, "priority": "high"}).status_code == 200
    assert parents() == [(issue.pk, second.pk)]
    issue.refresh_from_db()
    assert issue.priority == Issue.Priority.HIGH
    history = IssueEvent.objects.filter(issue=issue, field="parent").order_by("id")
    assert [(e.kind, e.old_value, e.new_value) for e in history] == [
        ("related", None, first.key),
        ("unrelated", first.key, None),
        ("related", None, second.key),
    ]
    assert Event.objects.filter(type="issue.unrelated").count() == 1

    response = patch(dev, issue, {"parent": None})
    assert response.status_code == 200
    assert response.json()["parent"] is None
    assert parents() == []
    # Naming the current parent again changes nothing.
    patch(dev, issue, {"parent": first.key})
    events = Event.objects.count()
    assert patch(dev, issue, {"parent": first.key}).status_code == 200
    assert Event.objects.count() == events


@pytest.mark.parametrize(
    ("target", "status", "field"),
    [
        ("self", 400, "parent"),
        ("NOSUCH-9", 400, "parent"),
        ("hidden", 400, "parent"),
        ("child", 409, None),
    ],
)
def test_a_refused_parent_changes_nothing(project, dev, target, status, field):
    issue, child = IssueFactory(project=project, title="Before"), IssueFactory(project=project)
    IssueRelation.objects.create(source=child, target=issue, type="parent")
    hidden = IssueFactory(project=ProjectFactory(visibility="private"))
    key = {"self": issue.key, "child": child.key, "hidden": hidden.key}.get(target, target)

    response = patch(dev, issue, {"parent": key, "title": "After"})

    assert response.status_code == status, response.content
    error = response.json()
    if field:
        assert error["errors"][0]["field"] == field
    else:
        assert error["code"] == "relation_cycle"
    if target in ("hidden", "NOSUCH-9"):  # worded alike: a hidden issue is no issue
        assert error["errors"][0]["message"] == f"No issue {key} that you can see."
    issue.refresh_from_db()
    assert issue.title == "Before"
    assert parents() == [(child.pk, issue.pk)]


def test_the_parent_takes_the_relate_right_and_its_scope(
    project, reporter, developer, client_for, pat_client
):
    parent = IssueFactory(project=project)
    own = IssueFactory(project=project, reporter=reporter, title="Mine")

    # A reporter may retitle their issue, but not give it a parent, alone or with it.
    refused = patch(client_for(reporter), own, {"parent": parent.key})
    assert refused.status_code == 403
    mixed = patch(client_for(reporter), own, {"title": "Retitled", "parent": parent.key})
    assert mixed.status_code == 403
    own.refresh_from_db()
    assert own.title == "Mine"
    # A token needs relations:write for it; issues:write is not enough.
    writer = pat_client(developer, ["read", "issues:write"])
    no_scope = patch(writer, own, {"parent": parent.key})
    assert no_scope.status_code == 403
    assert "relations:write" in no_scope.json()["detail"]
    assert parents() == []
    relater = pat_client(developer, ["read", "relations:write"])
    assert patch(relater, own, {"parent": parent.key}).status_code == 200
    assert parents() == [(own.pk, parent.pk)]


def test_an_issue_is_created_with_its_parent(project, dev, reporter, client_for):
    parent = IssueFactory(project=project)
    url = f"/api/v1/projects/{project.key}/issues"

    response = dev.post(url, {"title": "Sub-task", "parent": parent.key}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["parent"]["key"] == parent.key
    child = Issue.objects.get(title="Sub-task")
    assert parents() == [(child.pk, parent.pk)]
    assert dev.get(f"/api/v1/issues/{child.key}").json() == response.json()

    refused = client_for(reporter).post(
        url, {"title": "Not mine to link", "parent": parent.key}, format="json"
    )
    assert refused.status_code == 403
    assert not Issue.objects.filter(title="Not mine to link").exists()
    missing = dev.post(url, {"title": "Orphan", "parent": "NOSUCH-1"}, format="json")
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["field"] == "parent"
    assert not Issue.objects.filter(title="Orphan").exists()


def test_a_bulk_edit_gives_many_issues_one_parent(project, dev):
    parent = IssueFactory(project=project)
    tasks = [IssueFactory(project=project) for _ in range(3)]

    response = dev.post(
        "/api/v1/issues/bulk",
        {"issues": [t.key for t in tasks], "changes": {"parent": parent.key}},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert [r["issue"]["parent"]["key"] for r in response.json()["results"]] == [parent.key] * 3
    assert parents() == sorted((t.pk, parent.pk) for t in tasks)
    assert detail(dev, parent).json()["children"] == {"open": 3, "total": 3}


def reference_summaries(ids, reader):
    """What relation_summaries answers, by the query that filters visibility in SQL (the
    one it replaced; it planned slower than it ran)."""
    from django.db.models import F, Q

    from issues.representation import RELATION_SUMMARY_COLUMNS, summarise_relations
    from projects.models import Project

    def visible(side):
        if reader is None:
            return Q(**{f"{side}__project__visibility": "internal"}) | Q(
                source__project_id=F("target__project_id")
            )
        return Q(**{f"{side}__project__in": Project.objects.visible_to(reader).values("pk")})

    rows = IssueRelation.objects.filter(
        (Q(target_id__in=ids, type__in=("blocks", "parent")) & visible("source"))
        | (Q(source_id__in=ids, type="parent") & visible("target"))
    ).values_list(*RELATION_SUMMARY_COLUMNS)
    return summarise_relations(ids, rows)


def test_summaries_equal_the_query_that_filters_visibility_in_sql(project, owner, developer):
    """Across projects private, internal and another team's, for every kind of reader."""
    from accounts.callers import Caller
    from issues.relations.selectors import relation_summaries
    from tests.factories import MembershipFactory, UserFactory

    internal, internal_too = ProjectFactory(visibility="internal"), ProjectFactory(
        visibility="internal"
    )
    hidden = ProjectFactory(visibility="private")
    other_team = ProjectFactory(visibility="private")
    MembershipFactory(project=other_team, user=developer)
    issues = {
        name: [IssueFactory(project=where, status=status) for status in ("open", "closed")]
        for name, where in {
            "own": project,
            "internal": internal,
            "internal_too": internal_too,
            "hidden": hidden,
            "other_team": other_team,
        }.items()
    }
    everything = [issue for group in issues.values() for issue in group]
    subjects = issues["own"] + issues["internal"] + issues["other_team"]
    for n, (source, target) in enumerate(itertools.product(everything, subjects)):
        if source != target:
            kind = ("blocks", "parent", "relates_to")[n % 3]
            if (
                kind != "parent"
                or not IssueRelation.objects.filter(source=source, type="parent").exists()
            ):
                IssueRelation.objects.create(source=source, target=target, type=kind)
    stranger = UserFactory()

    readers = {
        "the owner": (owner, issues["own"] + issues["internal"] + issues["internal_too"]),
        "a developer of two teams": (Caller(developer, None), subjects),
        "a stranger": (stranger, issues["internal"]),
        "an event's payload": (None, issues["own"] + issues["internal"] + issues["other_team"]),
    }
    for name, (reader, visible_issues) in readers.items():
        ids = [issue.pk for issue in visible_issues]
        assert relation_summaries(ids, reader) == reference_summaries(ids, reader), name
    assert any(
        summary["parent"] or summary["open_blockers"]
        for summary in relation_summaries(
            [i.pk for i in subjects], Caller(developer, None)
        ).values()
    )
