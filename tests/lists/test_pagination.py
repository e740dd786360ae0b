"""Pagination of every list: page numbers (body, Link header, capped size and count, bad
input), keyset cursors (complete walks in both directions, tampering), and the SQL cost."""

import datetime
import json

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comments.models import Comment
from issues import services
from issues.models import Issue, IssueEvent, IssueRelation
from projects.models import Role
from tests.budgets import auth_queries
from tests.factories import (
    CommentFactory,
    IssueFactory,
    LabelFactory,
    MembershipFactory,
    ProjectFactory,
)
from tests.lists import assert_bad_param, keys, links, query, results

pytestmark = pytest.mark.django_db


def bulk_issues(project, count: int, **fields) -> list[Issue]:
    """`count` issues numbered after the project's last, in one INSERT."""
    start = project.last_issue_number
    created = Issue.objects.bulk_create(
        Issue(project=project, number=start + n, title=f"Issue {start + n}", **fields)
        for n in range(1, count + 1)
    )
    project.last_issue_number = start + count
    project.save(update_fields=["last_issue_number"])
    return created


# -- page numbers -------------------------------------------------------------------------


def test_first_page_has_25_rows_count_and_links(project, owner_client):
    bulk_issues(project, 30)
    response = owner_client.get("/api/v1/issues", {"ordering": "number"})
    body = response.json()
    assert [row["number"] for row in results(response)] == list(range(1, 26))
    assert (body["count"], body["count_exact"], body["previous"]) == (30, True, None)
    assert query(body["next"])["page"] == ["2"]
    rels = links(response)
    assert set(rels) == {"next", "first", "last"}
    assert rels["next"] == body["next"]
    assert "page" not in query(rels["first"])
    assert query(rels["last"])["page"] == ["2"]
    assert query(rels["last"])["ordering"] == ["number"]


def test_last_page_links_back(project, owner_client):
    bulk_issues(project, 30)
    response = owner_client.get("/api/v1/issues", {"ordering": "number", "page": 2})
    body = response.json()
    assert [row["number"] for row in results(response)] == list(range(26, 31))
    assert (body["count"], body["next"]) == (30, None)
    assert "page" not in query(body["previous"])  # page 1 is the URL without page
    rels = links(response)
    assert set(rels) == {"prev", "first", "last"}
    assert rels["prev"] == body["previous"]


def test_a_middle_page_and_every_link(project, owner_client):
    bulk_issues(project, 30)
    response = owner_client.get(
        "/api/v1/issues", {"ordering": "-number", "page_size": 7, "page": 3}
    )
    assert [row["number"] for row in results(response)] == list(range(16, 9, -1))
    rels = links(response)
    assert {rel: query(url).get("page") for rel, url in rels.items()} == {
        "next": ["4"],
        "prev": ["2"],
        "first": None,
        "last": ["5"],
    }
    assert all(query(url)["page_size"] == ["7"] for url in rels.values())
    assert response.json()["count"] == 30


def test_page_size_over_100_is_capped(project, owner_client):
    bulk_issues(project, 105)
    response = owner_client.get("/api/v1/issues", {"page_size": 500, "ordering": "number"})
    assert [row["number"] for row in results(response)] == list(range(1, 101))
    assert response.json()["count"] == 105
    assert query(links(response)["last"])["page"] == ["2"]
    second = owner_client.get(response.json()["next"])
    assert [row["number"] for row in results(second)] == list(range(101, 106))


def test_an_empty_list_is_one_empty_page(project, owner_client):
    response = owner_client.get("/api/v1/issues")
    assert response.json() == {
        "count": 0,
        "count_exact": True,
        "next": None,
        "previous": None,
        "results": [],
    }
    assert set(links(response)) == {"first", "last"}


def test_above_the_cap_the_count_stops_and_there_is_no_last_link(
    project, owner_client, monkeypatch
):
    monkeypatch.setattr("api.pagination.COUNT_CAP", 5)
    bulk_issues(project, 8)
    first = owner_client.get("/api/v1/issues", {"page_size": 3, "ordering": "number"})
    body = first.json()
    assert (body["count"], body["count_exact"]) == (5, False)
    assert [row["number"] for row in body["results"]] == [1, 2, 3]
    assert set(links(first)) == {"next", "first"}
    # Pages past the capped count still exist while rows do.
    third = owner_client.get("/api/v1/issues", {"page_size": 3, "ordering": "number", "page": 3})
    assert [row["number"] for row in results(third)] == [7, 8]
    assert third.json()["next"] is None
    for page in (9, "9" * 30):
        beyond = owner_client.get("/api/v1/issues", {"page_size": 3, "page": page})
        assert beyond.status_code == 404
        assert beyond.json()["code"] == "not_found"


def test_the_count_is_exact_up_to_the_cap(project, owner_client, monkeypatch):
    monkeypatch.setattr("api.pagination.COUNT_CAP", 5)
    bulk_issues(project, 5)
    body = owner_client.get("/api/v1/issues", {"page_size": 2}).json()
    assert (body["count"], body["count_exact"]) == (5, True)


def test_the_count_reflects_the_filters(project, owner_client):
    bulk_issues(project, 6)
    bulk_issues(project, 4, type="bug")
    response = owner_client.get("/api/v1/issues", {"type": "bug", "page_size": 3})
    body = response.json()
    assert body["count"] == 4
    assert len(body["results"]) == 3
    assert {row["type"] for row in body["results"]} == {"bug"}
    assert query(links(response)["last"]) == {"type": ["bug"], "page_size": ["3"], "page": ["2"]}


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "", "²", "१", " 2"])
def test_a_page_that_is_not_a_page_number_is_a_400_or_404(project, owner_client, page):
    bulk_issues(project, 3)
    response = owner_client.get("/api/v1/issues", {"page": page})
    assert response.status_code in (400, 404), response.content
    body = response.json()
    if response.status_code == 400:
        assert_bad_param(response, "page")
    else:
        assert body["code"] == "not_found"
        assert "page" in body["detail"].lower()


def test_a_page_past_the_end_is_a_404_naming_the_last_page(project, owner_client):
    bulk_issues(project, 3)
    response = owner_client.get("/api/v1/issues", {"page": 2})
    assert response.status_code == 404
    assert response.json()["detail"] == "Page 2 does not exist; the last page is 1."
    huge = owner_client.get("/api/v1/issues", {"page": "9" * 30})
    assert huge.status_code == 404


@pytest.mark.parametrize("size", ["0", "-5", "abc", "1.5", "²", "१", " 7", "1e3"])
def test_a_bad_page_size_is_a_400(project, owner_client, size):
    response = owner_client.get("/api/v1/issues", {"page_size": size})
    assert_bad_param(response, "page_size")
    cursor = owner_client.get("/api/v1/issues", {"page_size": size, "cursor": ""})
    assert_bad_param(cursor, "page_size")


def test_a_blank_page_size_is_the_default(project, owner_client):
    bulk_issues(project, 26)
    assert len(results(owner_client.get("/api/v1/issues", {"page_size": ""}))) == 25


LISTS = ["projects", "members", "labels", "issues", "project_issues", "comments", "events"]


@pytest.fixture
def busy(project, member_of):
    """A project with two of everything a list can show, and some history."""
    developers = [member_of(project, "developer") for _ in range(3)]
    labels = [LabelFactory(project=project) for _ in range(3)]
    issues = []
    for n in range(4):
        issue = IssueFactory(project=project, assignee=developers[n % 3], reporter=developers[0])
        issue.labels.set(labels[: n % 4])
        issues.append(issue)
    for n in range(4):
        services.issue_update(issue=issues[0], actor=developers[n % 3], title=f"Title {n}")
        CommentFactory(issue=issues[0], author=developers[n % 3])
    owner = project.created_by
    for n in range(3):
        other = ProjectFactory(key=f"ZZ{n}", visibility="internal")
        MembershipFactory(project=other, user=owner, role=Role.MAINTAINER)
    return project, issues[0]


def list_url(name, project, issue) -> str:
    return {
        "projects": "/api/v1/projects",
        "members": f"/api/v1/projects/{project.key}/members",
        "labels": f"/api/v1/projects/{project.key}/labels",
        "issues": "/api/v1/issues",
        "project_issues": f"/api/v1/projects/{project.key}/issues",
        "comments": f"/api/v1/issues/{issue.key}/comments",
        "events": f"/api/v1/issues/{issue.key}/events",
    }[name]


@pytest.mark.parametrize("name", LISTS)
def test_every_list_pages_the_same_way(busy, client_for, name):
    project, issue = busy
    client = client_for(project.created_by)
    url = list_url(name, project, issue)
    total = client.get(url).json()["count"]
    assert total >= 3
    first = client.get(url, {"page_size": 1})
    body = first.json()
    assert set(body) == {"count", "count_exact", "next", "previous", "results"}
    assert (body["count"], body["count_exact"], len(body["results"])) == (total, True, 1)
    assert set(links(first)) == {"next", "first", "last"}
    assert query(links(first)["last"])["page"] == [str(total)]
    seen = [json.dumps(row, sort_keys=True) for row in body["results"]]
    while body["next"]:
        body = client.get(body["next"]).json()
        seen += [json.dumps(row, sort_keys=True) for row in body["results"]]
    assert len(seen) == len(set(seen)) == total
    assert_bad_param(client.get(url, {"page": "x"}), "page")
    assert_bad_param(client.get(url, {"page_size": "0"}), "page_size")


# -- cursors ------------------------------------------------------------------------------

WORDS = ["apple", "banana", "cherry", "damson", "elder"]
STATUS_ORDER = list(Issue.Status.values)
SORT_KEYS = {
    "created_at": lambda i: i.created_at,
    "updated_at": lambda i: i.updated_at,
    "priority": lambda i: i.priority,
    "status": lambda i: STATUS_ORDER.index(i.status),
    "due_date": lambda i: i.due_date or datetime.date.max,  # undated last
    "number": lambda i: i.number,
    "title": lambda i: i.title,
}


def expected_order(issues, ordering: str) -> list[str]:
    """The keys of `issues` sorted as the API documents, computed independently."""
    terms = ordering.split(",")
    rows = sorted(issues, key=lambda i: i.pk, reverse=terms[0].startswith("-"))
    for term in reversed(terms):
        rows = sorted(rows, key=SORT_KEYS[term.lstrip("-")], reverse=term.startswith("-"))
    return [row.key for row in rows]


@pytest.fixture
def thirty(project):
    """30 issues with many ties: 5 priorities, 5 statuses, 5 titles, shared update times,
    and every third one undated."""
    base = timezone.now() - datetime.timedelta(days=60)
    statuses = STATUS_ORDER
    issues = []
    for n in range(30):
        issue = IssueFactory(
            project=project,
            title=WORDS[(n * 7) % 5],
            priority=(n * 3) % 5 + 1,
            status=statuses[(n * 2) % 5],
            resolution="fixed" if statuses[(n * 2) % 5] in ("resolved", "closed") else "",
            due_date=None if n % 3 == 0 else datetime.date(2030, 1, 1 + n % 4),
            created_at=base + datetime.timedelta(hours=n),
        )
        # Three issues share each update time.
        Issue.objects.filter(pk=issue.pk).update(
            updated_at=base + datetime.timedelta(days=10 - n // 3)
        )
        issues.append(issue)
    return list(Issue.objects.filter(pk__in=[i.pk for i in issues]).select_related("project"))


def walk_forward(client, url, params) -> list[dict]:
    pages = [client.get(url, {**params, "cursor": ""})]
    while pages[-1].json()["next"]:
        assert len(pages) < 50, "the walk does not end"
        pages.append(client.get(pages[-1].json()["next"]))
    return pages


def walk_backward(client, last_page) -> list[dict]:
    pages = [last_page]
    while pages[0].json()["previous"]:
        assert len(pages) < 50, "the walk does not end"
        pages.insert(0, client.get(pages[0].json()["previous"]))
    return pages


ORDERINGS = [
    "-updated_at",
    "updated_at",
    "priority",
    "-priority",
    "due_date",
    "-due_date",
    "status",
    "-status",
    "title",
    "-title",
    "number",
    "-created_at",
    "priority,-due_date",
    "-status,title,due_date",
    "due_date,-priority",
]


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_cursor_walks_cover_the_list_exactly_once_both_ways(
    thirty, project, owner_client, ordering
):
    expected = expected_order(thirty, ordering)
    params = {"ordering": ordering, "page_size": 7}
    # The page-number list agrees with the independent sort.
    assert keys(owner_client.get("/api/v1/issues", {"ordering": ordering, "page_size": 100})) == (
        expected
    )

    pages = walk_forward(owner_client, "/api/v1/issues", params)
    assert [len(results(page)) for page in pages] == [7, 7, 7, 7, 2]
    assert [key for page in pages for key in keys(page)] == expected
    assert pages[0].json()["previous"] is None
    assert all("count" not in page.json() for page in pages)

    back = walk_backward(owner_client, pages[-1])
    assert [key for page in back for key in keys(page)] == expected
    assert back[0].json()["previous"] is None
    assert back[0].json()["next"] is not None


def test_cursor_pages_carry_link_headers(thirty, owner_client):
    first = owner_client.get("/api/v1/issues", {"cursor": "", "page_size": 10})
    assert set(links(first)) == {"next", "first"}
    assert links(first)["next"] == first.json()["next"]
    assert query(links(first)["first"])["cursor"] == [""]
    second = owner_client.get(first.json()["next"])
    assert set(links(second)) == {"next", "prev", "first"}
    assert links(second)["prev"] == second.json()["previous"]
    third = owner_client.get(second.json()["next"])
    assert set(links(third)) == {"prev", "first"}
    assert len(keys(first) + keys(second) + keys(third)) == 30


def test_cursor_walks_keep_the_filters(thirty, owner_client):
    wanted = [i for i in thirty if i.priority in (1, 5)]
    params = {"priority": ["lowest", "highest"], "ordering": "due_date", "page_size": 4}
    pages = walk_forward(owner_client, "/api/v1/issues", params)
    assert [key for page in pages for key in keys(page)] == expected_order(wanted, "due_date")
    assert all(
        query(page.json()["next"])["priority"] == ["lowest", "highest"] for page in pages[:-1]
    )


def test_a_row_added_between_pages_does_not_shift_the_next_page(thirty, project, owner_client):
    expected = expected_order(thirty, "-updated_at")
    first = owner_client.get("/api/v1/issues", {"cursor": "", "page_size": 7})
    IssueFactory(project=project)  # the most recently updated: would push page 2 along
    second = owner_client.get(first.json()["next"])
    assert keys(first) + keys(second) == expected[:14]


def test_cursor_walk_of_search_results(thirty, owner_client):
    params = {"search": "banana", "ordering": "-rank", "page_size": 2}
    pages = walk_forward(owner_client, "/api/v1/issues", params)
    found = [key for page in pages for key in keys(page)]
    assert sorted(found) == sorted(i.key for i in thirty if i.title == "banana")
    assert len(found) == len(set(found)) == 6


def test_cursor_walk_with_an_exact_key_first(thirty, owner_client):
    target, mentions = thirty[10], [thirty[3], thirty[20]]
    Issue.objects.filter(pk__in=[i.pk for i in mentions]).update(description=f"see {target.key}")
    pages = walk_forward(owner_client, "/api/v1/issues", {"search": target.key, "page_size": 1})
    found = [key for page in pages for key in keys(page)]
    assert found[0] == target.key
    assert sorted(found[1:]) == sorted(i.key for i in mentions)
    back = walk_backward(owner_client, pages[-1])
    assert [key for page in back for key in keys(page)] == found


def tamper(cursor: str) -> str:
    middle = len(cursor) // 2
    return cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]


def test_a_tampered_cursor_is_a_400(thirty, owner_client):
    first = owner_client.get("/api/v1/issues", {"cursor": "", "page_size": 7})
    cursor = query(first.json()["next"])["cursor"][0]
    for bad in (tamper(cursor), cursor[:-3], "abc", "x" * 300, "null"):
        response = owner_client.get("/api/v1/issues", {"cursor": bad, "page_size": 7})
        assert_bad_param(response, "cursor")


def test_a_cursor_signed_with_nonsense_values_is_a_400(thirty, owner_client):
    forged = signing.dumps(
        {"v": ["not a time", 1], "t": ["datetime", "plain"], "o": ["-updated_at", "-id"]},
        salt="tracker.cursor",
        compress=True,
    )
    assert_bad_param(owner_client.get("/api/v1/issues", {"cursor": forged}), "cursor")
    not_a_dict = signing.dumps([1, 2], salt="tracker.cursor")
    assert_bad_param(owner_client.get("/api/v1/issues", {"cursor": not_a_dict}), "cursor")


def test_a_cursor_from_another_ordering_is_a_400(thirty, owner_client):
    first = owner_client.get("/api/v1/issues", {"cursor": "", "ordering": "priority"})
    cursor = query(first.json()["next"])["cursor"][0]
    response = owner_client.get("/api/v1/issues", {"cursor": cursor, "ordering": "title"})
    assert_bad_param(response, "cursor")
    assert "ordering" in response.json()["errors"][0]["message"]


def test_page_and_cursor_together_is_a_400(thirty, owner_client):
    assert_bad_param(owner_client.get("/api/v1/issues", {"cursor": "", "page": 2}), "cursor")


def test_comment_and_event_lists_take_cursors(project, owner_client):
    issue = IssueFactory(project=project)
    comments = [CommentFactory(issue=issue) for _ in range(5)]
    for n in range(4):
        services.issue_update(issue=issue, actor=project.created_by, title=f"Title {n}")
    comments_url = f"/api/v1/issues/{issue.key}/comments"
    pages = walk_forward(owner_client, comments_url, {"page_size": 2})
    assert [row["id"] for page in pages for row in results(page)] == [c.pk for c in comments]
    back = walk_backward(owner_client, pages[-1])
    assert [row["id"] for page in back for row in results(page)] == [c.pk for c in comments]
    newest_first = walk_forward(
        owner_client, comments_url, {"page_size": 2, "ordering": "-created_at"}
    )
    assert [row["id"] for page in newest_first for row in results(page)] == [
        c.pk for c in reversed(comments)
    ]

    events = list(IssueEvent.objects.filter(issue=issue).order_by("created_at", "id"))
    assert len(events) == 4
    pages = walk_forward(owner_client, f"/api/v1/issues/{issue.key}/events", {"page_size": 3})
    assert [row["id"] for page in pages for row in results(page)] == [e.pk for e in events]
    assert all("count" not in page.json() for page in pages)
    assert Comment.objects.filter(issue=issue).count() == 5


# -- query budget -------------------------------------------------------------------------

# The most SQL each list runs itself, whatever the page size; authentication adds
# auth_queries() (0 with Redis once warm, 2 with the zero-config cache: tests/budgets.py).
LIST_QUERY_BUDGET = {
    "projects": 2,  # count, page
    "members": 3,  # the project with the caller's role, count, page
    "labels": 3,  # as members
    "issues": 5,  # the visible projects' ids, count, page, its labels, its relations
    "project_issues": 5,  # the project with the caller's role, count, page, labels, relations
    "comments": 3,  # the issue with the caller's role, count, page
    "events": 3,  # as comments
}
CURSOR_LISTS = ["issues", "project_issues", "comments", "events"]


def count_queries(client, url, params) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(captured), [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("name", LISTS)
def test_every_list_runs_a_constant_number_of_queries(
    busy, client_for, django_assert_max_num_queries, name
):
    project, issue = busy
    client = client_for(project.created_by)
    url = list_url(name, project, issue)
    client.get(url)  # warm caches that do not depend on the page (the token blocklist)
    budget = LIST_QUERY_BUDGET[name] + auth_queries()
    with django_assert_max_num_queries(budget):
        small = client.get(url, {"page_size": 1})
    with django_assert_max_num_queries(budget):
        large = client.get(url, {"page_size": 100})
    assert len(results(small)) == 1
    assert len(results(large)) == large.json()["count"] >= 3
    assert count_queries(client, url, {"page_size": 1})[0] == (
        count_queries(client, url, {"page_size": 100})[0]
    )


@pytest.mark.parametrize("name", CURSOR_LISTS)
def test_cursor_lists_run_a_constant_number_of_queries_and_never_count(
    busy, client_for, django_assert_max_num_queries, name
):
    project, issue = busy
    client = client_for(project.created_by)
    url = list_url(name, project, issue)
    client.get(url)
    budget = LIST_QUERY_BUDGET[name] - 1 + auth_queries()  # no count
    with django_assert_max_num_queries(budget):
        small = client.get(url, {"page_size": 1, "cursor": ""})
    with django_assert_max_num_queries(budget):
        large = client.get(url, {"page_size": 100, "cursor": ""})
    assert len(results(small)) == 1
    assert len(results(large)) >= 3
    following = small.json()["next"]
    for params in ({"page_size": 1, "cursor": ""}, {"page_size": 100, "cursor": ""}):
        _, sql = count_queries(client, url, params)
        assert not [q for q in sql if "COUNT(" in q.upper()], sql
    _, sql = count_queries(client, following, {})
    assert not [q for q in sql if "COUNT(" in q.upper()], sql


def test_filters_and_search_keep_the_issue_list_budget(
    busy, client_for, django_assert_max_num_queries
):
    project, issue = busy
    client = client_for(project.created_by)
    client.get("/api/v1/issues")
    label = LabelFactory(project=project, name="needle")
    issue.labels.add(label)
    params = {
        "project": project.key,
        "label": "needle",
        "assignee": issue.assignee.username,
        "reporter": issue.reporter.username,
        "search": "Title",
        "ordering": "-rank,status",
    }
    # + the project keys, the known labels, the assignee and the reporter, once each
    budget = LIST_QUERY_BUDGET["issues"] + 4 + auth_queries()
    with django_assert_max_num_queries(budget):
        small = client.get("/api/v1/issues", {**params, "page_size": 1})
    with django_assert_max_num_queries(budget):
        large = client.get("/api/v1/issues", {**params, "page_size": 100})
    assert keys(small) == keys(large) == [issue.key]


def test_a_search_counts_exactly_only_up_to_the_search_cap(project, owner_client, monkeypatch):
    monkeypatch.setattr("issues.views.SEARCH_COUNT_CAP", 5)
    bulk_issues(project, 8)
    searched = owner_client.get("/api/v1/issues", {"search": "issue", "page_size": 3}).json()
    assert (searched["count"], searched["count_exact"]) == (5, False)
    assert len(searched["results"]) == 3 and searched["next"]
    # The cap is the search's: the same issues listed without one are counted to 10,000.
    listed = owner_client.get("/api/v1/issues", {"page_size": 3}).json()
    assert (listed["count"], listed["count_exact"]) == (8, True)
    narrow = owner_client.get("/api/v1/issues", {"search": "Issue 7", "page_size": 3}).json()
    assert (narrow["count"], narrow["count_exact"]) == (1, True)


def test_the_schema_says_where_an_issue_search_stops_counting(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    page = schema["components"]["schemas"]["PaginatedIssueList"]["properties"]
    assert "(1000 with ?search=)" in page["count"]["description"]
    assert "(1000 with ?search=)" in page["count_exact"]["description"]


@pytest.mark.parametrize(
    "params",
    [
        {"blocked": "true"},
        {"blocked": "false"},
        {"parent": "{parent}"},
        {"has_children": "true"},
        {"related_to": "{parent}"},
        {"ready": "true"},
        {"expand": "relations"},
    ],
)
def test_relation_filters_keep_the_issue_list_budget(
    project, owner_client, django_assert_max_num_queries, params
):
    """Each relation filter is a subquery of the page's query (parent= and related_to=
    look the key up once), whatever the page size."""
    parent = IssueFactory(project=project)
    for n in range(30):
        issue = IssueFactory(project=project, assignee=None)
        IssueRelation.objects.create(source=issue, target=parent, type="parent")
        if n % 2:
            IssueRelation.objects.create(
                source=IssueFactory(project=project), target=issue, type="blocks"
            )
    params = {name: value.format(parent=parent.key) for name, value in params.items()}
    owner_client.get("/api/v1/issues")
    budget = LIST_QUERY_BUDGET["issues"] + 1 + auth_queries()

    with django_assert_max_num_queries(budget):
        small = owner_client.get("/api/v1/issues", {**params, "page_size": 1})
    with django_assert_max_num_queries(budget):
        large = owner_client.get("/api/v1/issues", {**params, "page_size": 100})

    assert small.status_code == large.status_code == 200
    assert large.json()["results"]
    assert keys(small) == keys(large)[:1]
