"""The hot lists' queries are index-driven on PostgreSQL: EXPLAIN, over a few thousand
issues with fresh statistics, shows index scans and no sequential scan or full sort of
the issues table. (The benchmark, bench/run.py, measures the same at a million.)"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.pagination import KeysetCursorPagination
from issues.models import Issue
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ISSUES = 6000
RARE_WORD = "kerberos"  # in 1 issue in 1,000


@pytest.fixture
def caller(db):
    """A member of two of three projects holding ISSUES issues, bulk-inserted and analysed."""
    user = UserFactory()
    projects = [ProjectFactory(key=key) for key in ("BIG", "SMALL", "HIDDEN")]
    for project in projects[:2]:
        MembershipFactory(project=project, user=user, role=Role.DEVELOPER)
    now = timezone.now()
    words = ["login", "cache", "timeout", "export", "render", "queue", "error", "upload"]
    Issue.objects.bulk_create(
        Issue(
            project=projects[n % 3],
            number=n + 1,
            title=f"{words[n % 8].title()} fails on {words[(n // 8) % 8]}",
            description=" ".join(words[(n + k) % 8] for k in range(40))
            + (f" {RARE_WORD}" if n % 1000 == 7 else ""),
            created_at=now - timedelta(minutes=ISSUES - n),
            reporter=user,
        )
        for n in range(ISSUES)
    )
    # bulk_create sets updated_at to now for all; spread it like real history.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE issues_issue SET updated_at = created_at + (id % 97) * interval '1 minute'"
        )
        cursor.execute("ANALYZE issues_issue")
    return user


def plans(client, url, params) -> list[str]:
    """EXPLAIN of every issues_issue query the request runs."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    explained = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            if query["sql"].startswith("SELECT") and 'FROM "issues_issue"' in query["sql"]:
                cursor.execute("EXPLAIN " + query["sql"])
                explained.append("\n".join(row[0] for row in cursor.fetchall()))
    assert explained
    return explained


def assert_index_driven(plan: str) -> None:
    assert "Seq Scan on issues_issue" not in plan, plan
    # A sort over the issues read would mean the order did not come from an index.
    assert not any(line.strip().startswith("->  Sort") for line in plan.splitlines()), plan
    assert "Index" in plan, plan


def deep_cursor(user, depth: int) -> str:
    row = Issue.objects.visible_to(user).order_by("-updated_at", "-id")[depth]
    return KeysetCursorPagination()._encode(row, [("updated_at", True), ("id", True)], False)


@pytest.mark.parametrize("params", [{}, {"cursor": ""}], ids=["page numbers", "cursor"])
def test_the_default_issue_list_reads_an_index_in_order(caller, client_for, params):
    count, *page = plans(client_for(caller), "/api/v1/issues", {**params, "page_size": 50})
    for plan in page or [count]:
        assert_index_driven(plan)
        assert "issue_updated" in plan or "issue_project_updated" in plan, plan


def test_a_deep_cursor_page_starts_the_index_scan_at_the_cursor(caller, client_for):
    cursor = deep_cursor(caller, 3000)
    (plan,) = plans(client_for(caller), "/api/v1/issues", {"cursor": cursor, "page_size": 50})
    assert_index_driven(plan)
    assert "Index Cond: (updated_at <=" in plan, plan


def test_search_uses_the_full_text_index(caller, client_for):
    for plan in plans(client_for(caller), "/api/v1/issues", {"search": RARE_WORD}):
        assert "Seq Scan on issues_issue" not in plan, plan
        assert "Bitmap Index Scan on issue_search_vector" in plan, plan


def test_a_common_word_is_counted_from_an_index_in_the_list_order(caller, client_for):
    # Every issue holds "error": the count stops at the search cap walking issue_updated,
    # where without an order it would read the table until it had counted enough.
    count, page, *_ = plans(client_for(caller), "/api/v1/issues", {"search": "error"})
    assert count.startswith("Aggregate"), count
    assert_index_driven(count)
    assert "issue_updated" in count or "issue_project_updated" in count, count
    assert_index_driven(page)


def test_a_rare_word_is_counted_from_the_search_index(caller, client_for):
    count, *_ = plans(client_for(caller), "/api/v1/issues", {"search": RARE_WORD})
    assert "Seq Scan on issues_issue" not in count, count
    assert "Bitmap Index Scan on issue_search_vector" in count, count
