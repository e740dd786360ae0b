"""Every scenario of the benchmark (bench/scenarios.py) has a statement budget, pinned here
on data shaped like the benchmark's: what bench/run.py reports as SQL/req (less Django's
connection health check) is what these tests allow, and a new scenario without a budget
fails the first test."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from attachments.models import Attachment
from bench.scenarios import scenarios
from issues.models import IssueRelation
from projects.models import Role
from tests.factories import (
    DEFAULT_PASSWORD,
    CommentFactory,
    IssueFactory,
    LabelFactory,
    MembershipFactory,
    ThreadFactory,
    UserFactory,
)
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db

# Announcing a write (events.outbox): its INSERT, after the lock that orders event ids on
# PostgreSQL (tests/perf/test_write_budgets.py says the same of each write).
EVENT = 2 if connection.vendor == "postgresql" else 1

# Statements per request, as a worker runs it warm (the caller and the token blocklist
# cached). Lists: the visible projects' ids, the capped count (page numbers), the page,
# its labels, its relations; a filter naming other rows looks them up once (400 for a
# name that does not exist: the assignee, the labels); `parent=` reads the parent
# instead of counting.
BUDGETS = {
    "issue list, page numbers": 5,
    "issue list, cursor": 4,
    "issue list, filtered + sorted": 7,
    "issue list, cursor page N": 4,
    "issue list, blocked=true": 5,
    "issue list, parent=": 5,
    "search, selective word": 5,
    "search, common word": 5,
    "search, common word, cursor": 4,
    # The issue with the caller's role (and on PostgreSQL its labels: one more query
    # elsewhere), its relations as the caller sees them.
    "issue detail": 2 if connection.vendor == "postgresql" else 3,
    # The inbox's version (the ETag), the page.
    "inbox, first page": 2,
    # The issue with the caller's role, the count, the page.
    "files of an issue": 3,
    "comment list (200 comments)": 3,
    "create issue": 9 + EVENT,
    "create issue, 5 webhooks": 9 + EVENT,
    "add comment": 5 + EVENT,
    "status transition": 8 + EVENT,
    # The user, last_login, the refresh token's family, its outstanding token, the session's
    # record, SAVEPOINT and RELEASE around them, the lockout's reset.
    "login": 8,
}

FACTS = {
    "visible_projects": [1],
    "busy_issue": "CORE-1",
    "assignee": "user07",
    "assignee_id": 7,
    "backend_labels": [1],
    "detail_keys": ["CORE-2"],
    "parent_id": 1,
    "parent_key": "CORE-1",
    "caller_id": 1,
    "deep_page": 10_000,
    "deep_cursor": "x",
    "comment_keys": ["CORE-3"],
    "transition_keys": ["CORE-4"],
    "caller": "bench",
}


def test_every_scenario_of_the_benchmark_has_a_budget():
    names = {
        re.sub(r"cursor page [\d,]+", "cursor page N", name)
        for name, _ in scenarios(FACTS)
        if "(reference)" not in name
    }
    assert names == set(BUDGETS)


@pytest.fixture(autouse=True)
def _blocklist_in_the_cache(settings):
    settings.TOKEN_BLOCKLIST_USE_CACHE = True


@pytest.fixture
def world(project):
    """The caller, a maintainer; issues with labels, assignees, comments, relations, files
    and inbox threads, as bench/seed.py makes them."""
    caller = UserFactory(username="bench")
    MembershipFactory(project=project, user=caller, role=Role.MAINTAINER)
    assignee = UserFactory(username="user07")
    MembershipFactory(project=project, user=assignee, role=Role.DEVELOPER)
    labels = [LabelFactory(project=project, name=name) for name in ("backend", "ux")]
    issues = []
    for n in range(30):
        issue = IssueFactory(
            project=project,
            title=f"The error {n}, kerberos" if n % 3 else f"The error {n}",
            assignee=assignee if n % 2 or n == 4 else None,
        )
        issue.labels.set(labels[: n % 3])
        issues.append(issue)
    parent = issues[0]
    for n, issue in enumerate(issues[1:], 1):
        if n % 2:
            IssueRelation.objects.create(source=issue, target=parent, type="parent")
        else:
            IssueRelation.objects.create(source=issues[n - 1], target=issue, type="blocks")
    for n in range(10):
        CommentFactory(issue=parent, author=assignee)
        ThreadFactory(user=caller, issue=issues[n], read_at=None if n % 2 else parent.created_at)
        Attachment.objects.create(
            issue=parent,
            uploader=assignee,
            key=Attachment.new_key(),
            filename=f"shot-{n}.png",
            size=10,
            content_type="image/png",
            sha256="0" * 64,
            status="available",
        )
    return {"caller": caller, "parent": parent, "issues": issues}


def request_of(name, world):
    """(method, path, body) of the scenario `name` on `world`'s data."""
    parent, issues = world["parent"], world["issues"]
    page = "page_size=50"
    api = f"/api/v1/issues?{page}"
    new_issue = {
        "project": parent.project.key,
        "title": "Benchmark: the export button times out",
        "type": "bug",
        "priority": "high",
        "labels": ["backend"],
    }
    return {
        "issue list, page numbers": ("get", api, None),
        "issue list, cursor": ("get", f"{api}&cursor=", None),
        "issue list, filtered + sorted": (
            "get",
            f"{api}&status=open&assignee=user07&label=backend&ordering=-priority",
            None,
        ),
        "issue list, cursor page N": ("get", "/api/v1/issues?page_size=5&cursor=", "next"),
        "issue list, blocked=true": ("get", f"{api}&blocked=true", None),
        "issue list, parent=": ("get", f"{api}&parent={parent.key}", None),
        "search, selective word": ("get", f"{api}&search=kerberos", None),
        "search, common word": ("get", f"{api}&search=error", None),
        "search, common word, cursor": ("get", f"{api}&search=error&cursor=", None),
        "issue detail": ("get", f"/api/v1/issues/{issues[2].key}", None),
        "inbox, first page": ("get", f"/api/v1/me/notifications?{page}", None),
        "files of an issue": ("get", f"/api/v1/issues/{parent.key}/attachments?{page}", None),
        "comment list (200 comments)": (
            "get",
            f"/api/v1/issues/{parent.key}/comments?{page}",
            None,
        ),
        "create issue": ("post", "/api/v1/issues", new_issue),
        "create issue, 5 webhooks": ("post", "/api/v1/issues", new_issue),
        "add comment": ("post", f"/api/v1/issues/{issues[3].key}/comments", {"body": "Seen."}),
        "status transition": (
            "post",
            f"/api/v1/issues/{issues[4].key}/status",
            {"status": "in_progress"},
        ),
        "login": (
            "post",
            "/api/v1/auth/login",
            {"username": "bench", "password": DEFAULT_PASSWORD},
        ),
    }[name]


@pytest.mark.parametrize("name", list(BUDGETS))
def test_each_scenario_stays_within_its_statement_budget(
    name, world, client_for, project, settings
):
    if name == "create issue, 5 webhooks":  # subscribed to every event, as bench/hooks.py
        settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # the benchmark's local receiver
        for n in range(5):
            webhook_create(
                project=project, creator=project.created_by, url=f"http://127.0.0.1:9/{n}"
            )
    client = client_for(world["caller"])
    assert client.get("/api/v1/me").status_code == 200  # warm: the caller cached
    method, path, body = request_of(name, world)
    if body == "next":  # a deep page: the cursor of a later page, as the benchmark has one
        path = client.get(path).json()["next"]
        body = None
    if name == "login":
        client = client.__class__()
    with CaptureQueriesContext(connection) as queries:
        answer = getattr(client, method)(path, body, content_type="application/json")
    assert answer.status_code in (200, 201), answer.content
    assert len(queries) <= BUDGETS[name], [q["sql"] for q in queries]
