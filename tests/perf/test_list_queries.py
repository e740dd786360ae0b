"""SQL budgets of the hot lists, with the blocklist answered from the cache as it is with
Redis in production: the same few queries whatever the page size."""

import pytest

from tests.factories import CommentFactory, IssueFactory, LabelFactory

pytestmark = pytest.mark.django_db

# The user (with Redis, only until its copy is cached: accounts/blocklist.py), the ids of
# the visible projects, the capped count (page numbers only), the page, the page's labels,
# the page's relations (parents, children, blockers).
ISSUE_LIST_QUERIES = 6
# The user (as above), the issue with the caller's role, the count, the page.
COMMENT_LIST_QUERIES = 4
# Query parameters, and the queries they add: a filter naming other rows (labels, a user)
# looks them up once, to answer 400 for a name that does not exist.
ISSUE_LISTS = {
    "page numbers": ({}, 0),
    "cursor": ({"cursor": ""}, 0),
    "filtered and sorted": ({"status": "open", "label": "backend", "ordering": "-priority"}, 1),
    "search": ({"search": "needle"}, 0),
    "search by relevance": ({"search": "needle", "ordering": "-rank", "cursor": ""}, 0),
}


@pytest.fixture(autouse=True)
def _blocklist_in_the_cache(settings):
    settings.TOKEN_BLOCKLIST_USE_CACHE = True


@pytest.fixture
def busy(project, member_of):
    """Issues with labels, assignees and reporters enough to expose N+1s."""
    labels = [LabelFactory(project=project, name=n) for n in ("backend", "ux", "docs")]
    people = [member_of(project, "developer") for _ in range(4)]
    issues = []
    for n in range(30):
        issue = IssueFactory(
            project=project,
            title=f"Needle {n}",
            assignee=people[n % 4],
            reporter=people[(n + 1) % 4],
        )
        issue.labels.set(labels[: 1 + n % 3])
        issues.append(issue)
    for n in range(30):
        CommentFactory(issue=issues[0], author=people[n % 4])
    return issues


def warm(client, url):
    # The first request loads the blocklist into the cache (once a minute in production).
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("page_size", [1, 100])
@pytest.mark.parametrize("name", list(ISSUE_LISTS))
def test_issue_lists_cost_the_same_few_queries_at_any_page_size(
    project, busy, client_for, django_assert_max_num_queries, name, page_size
):
    client = client_for(project.created_by)
    warm(client, "/api/v1/me")
    params, lookups = ISSUE_LISTS[name]
    for url in ("/api/v1/issues", f"/api/v1/projects/{project.key}/issues"):
        # A project's list reads the project (and the caller's role) instead of the ids.
        with django_assert_max_num_queries(ISSUE_LIST_QUERIES + lookups):
            response = client.get(url, {**params, "page_size": page_size})
        assert response.status_code == 200, response.content
        assert len(response.json()["results"]) == min(page_size, 30)


@pytest.mark.parametrize("page_size", [1, 100])
def test_comment_list_costs_the_same_few_queries_at_any_page_size(
    project, busy, client_for, django_assert_max_num_queries, page_size
):
    client = client_for(project.created_by)
    warm(client, "/api/v1/me")
    with django_assert_max_num_queries(COMMENT_LIST_QUERIES):
        response = client.get(f"/api/v1/issues/{busy[0].key}/comments", {"page_size": page_size})
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(page_size, 30)


@pytest.mark.parametrize("page_size", [1, 100])
def test_with_the_user_cached_an_issue_list_is_count_page_labels_and_relations(
    project, busy, client_for, django_assert_num_queries, page_size
):
    client = client_for(project.created_by)
    warm(client, "/api/v1/me")  # caches the blocklist and the user's copy
    with django_assert_num_queries(ISSUE_LIST_QUERIES - 1) as captured:
        response = client.get("/api/v1/issues", {"page_size": page_size})
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(page_size, 30)
    assert 'FROM "projects_project"' in captured.captured_queries[0]["sql"]
    assert "COUNT(" in captured.captured_queries[1]["sql"]
    assert "issues_issue_labels" in captured.captured_queries[3]["sql"]
    assert "issues_issuerelation" in captured.captured_queries[4]["sql"]
