"""The filtered list people keep open ("my open bugs by priority") is index-driven on
PostgreSQL: EXPLAIN of the SQL the API runs, over enough issues with fresh statistics,
reads the assignee indexes of migration 0005 and never scans the issues table."""

import re

import pytest
from django.db import connection

from issues.models import Issue, Label
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.perf.test_query_plans import assert_index_driven, plans

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ISSUES = 20_000
ASSIGNEES = 16
# As in a tracker in use for a while: most issues are done (is_open: 30%).
STATUSES = ["open", "in_progress", "in_review", "resolved"] + ["closed"] * 6
ASSIGNEE_INDEXES = ("issue_assignee_status_prio", "issue_open_assignee_prio")


@pytest.fixture
def caller(db):
    """A developer in two projects holding ISSUES issues, a quarter of them assigned to
    the caller (500 open: a page of 50 is a small part) and the rest spread over others,
    one in six labelled `backend`, bulk-inserted and analysed."""
    user = UserFactory(username="caller")
    people = [user] + [UserFactory() for _ in range(ASSIGNEES - 1)]
    projects = [ProjectFactory(key=key) for key in ("BIG", "SMALL")]
    labels = []
    for project in projects:
        MembershipFactory(project=project, user=user, role=Role.DEVELOPER)
        labels.append(Label.objects.create(project=project, name="backend"))
        Label.objects.create(project=project, name="frontend")
    issues = Issue.objects.bulk_create(
        Issue(
            project=projects[n % 2],
            number=n + 1,
            title=f"Issue {n}",
            status=STATUSES[(n // 4) % len(STATUSES)],
            resolution=(
                "fixed" if STATUSES[(n // 4) % len(STATUSES)] in ("resolved", "closed") else ""
            ),
            priority=1 + n % 5,
            assignee=user if n % 4 == 0 else people[1 + (n // 7) % (ASSIGNEES - 1)],
            reporter=user,
        )
        for n in range(ISSUES)
    )
    Issue.labels.through.objects.bulk_create(
        Issue.labels.through(issue_id=issue.pk, label_id=labels[n % 2].pk)
        for n, issue in enumerate(issues)
        if n % 6 == 4  # a third of the caller's issues, and some of others'
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE issues_issue")
        cursor.execute("ANALYZE issues_issue_labels")
    return user


@pytest.mark.parametrize(
    "params",
    [
        {"status": "open", "assignee": "me", "ordering": "-priority"},
        {"is_open": "true", "assignee": "me", "ordering": "-priority"},
        {"is_open": "true", "assignee": "me", "ordering": "-priority", "cursor": ""},
    ],
    ids=["one status", "is_open", "is_open, cursor"],
)
def test_my_open_issues_by_priority_come_in_order_from_an_assignee_index(
    caller, client_for, params
):
    for plan in plans(client_for(caller), "/api/v1/issues", {**params, "page_size": 50}):
        assert_index_driven(plan)
        if not plan.startswith("Aggregate"):  # the page, not the capped count
            assert any(name in plan for name in ASSIGNEE_INDEXES), plan


def test_a_label_filter_keeps_the_issues_to_the_assignee_index(caller, client_for):
    # Which side of the issue-label table is read depends on its size: at a few thousand
    # rows a scan of it is cheapest; on the benchmark's data it is the (label_id, issue_id)
    # index of migration 0005, read alone (README, "Performance").
    params = {"status": "open", "assignee": "me", "label": "backend", "ordering": "-priority"}
    for plan in plans(client_for(caller), "/api/v1/issues", {**params, "page_size": 50}):
        assert not re.search(r"Seq Scan on issues_issue\b(?!_)", plan), plan
        assert any(name in plan for name in ASSIGNEE_INDEXES), plan


def test_the_count_checks_the_label_per_issue_from_the_assignee_index(caller, client_for):
    # Not a hash join over every issue carrying the label: the issues the assignee and
    # status leave, each probed once in the issue-label index (README, "Performance").
    # (Vacuumed, as a table in use is, the assignee index is read alone: it holds the
    # project. A test's rows are not vacuumed, so PostgreSQL reads them in the table.)
    params = {"status": "open", "assignee": "me", "label": "backend", "ordering": "-priority"}
    count, *_ = plans(client_for(caller), "/api/v1/issues", {**params, "page_size": 50})
    assert count.startswith("Aggregate"), count
    assert "on issue_assignee_status_prio" in count, count
    assert not re.search(r"Seq Scan on issues_issue\b(?!_)", count), count
    assert "Hash" not in count, count
    assert "SubPlan" in count, count
