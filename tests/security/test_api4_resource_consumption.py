"""OWASP API4:2023 Unrestricted Resource Consumption.

What one request may cost is bounded: pages are capped at 100 rows, bodies at
REQUEST_BODY_MAX_BYTES (413), text fields at their documented lengths, JSON at 32 levels,
repeatable parameters at 10 values, and search or filter text of any content is a 200 or
a 400, never a 500. Rate limits (429, RateLimit-* headers) are tested in
tests/lists/test_http_semantics.py and tests/accounts/test_throttling.py; a URL longer
than the HTTP server's request line (about 4 KB) is refused by gunicorn with a 414.
"""

import time
from urllib.parse import quote

import pytest
from django.test import override_settings

from api.pagination import MAX_PAGE_SIZE
from comments.models import Comment
from issues.models import Issue, Label
from projects.models import Project
from tests.factories import CommentFactory, IssueFactory, LabelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue(project):
    issue = IssueFactory(project=project, reporter=project.created_by)
    CommentFactory(issue=issue, author=project.created_by)
    LabelFactory(project=project, name="bug")
    return issue


def snapshot():
    """Everything a refused request must leave as it was."""
    return (
        list(Project.objects.values_list("key", "name", "description")),
        list(Issue.objects.values_list("title", "description", "status")),
        list(Comment.objects.values_list("body", flat=True)),
        list(Label.objects.values_list("name", flat=True)),
    )


def test_page_size_is_capped(project, owner_client):
    for _ in range(MAX_PAGE_SIZE + 5):
        IssueFactory(project=project)
    paged = owner_client.get("/api/v1/issues", {"page_size": 10_000})
    assert paged.json()["count"] == MAX_PAGE_SIZE + 5
    assert len(paged.json()["results"]) == MAX_PAGE_SIZE
    assert "page_size=10000" in paged.json()["next"]
    cursor = owner_client.get("/api/v1/issues", {"page_size": 10_000, "cursor": ""})
    assert len(cursor.json()["results"]) == MAX_PAGE_SIZE


@override_settings(REQUEST_BODY_MAX_BYTES=2_000)
@pytest.mark.parametrize(
    "method, url",
    [
        ("post", "/api/v1/projects"),
        ("post", "/api/v1/issues"),
        ("post", "/api/v1/issues/{issue}/comments"),
        ("patch", "/api/v1/issues/{issue}"),
        ("post", "/api/v1/auth/register"),
        ("post", "/api/v1/auth/login"),
    ],
)
def test_a_body_over_the_limit_is_a_413(owner_client, issue, method, url):
    before = snapshot()
    body = {"project": issue.project.key, "key": "BIG", "title": "x", "body": "y" * 2_001}
    response = getattr(owner_client, method)(url.format(issue=issue.key), body, format="json")
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert snapshot() == before


LONG_COMMENT = "c" * 20_001


@pytest.mark.parametrize(
    "method, url, body, field",
    [
        ("post", "/api/v1/issues", {"title": "t" * 201}, "title"),
        ("post", "/api/v1/issues", {"title": "t", "description": "d" * 50_001}, "description"),
        ("patch", "/api/v1/issues/{issue}", {"title": "t" * 201}, "title"),
        ("post", "/api/v1/issues/{issue}/comments", {"body": LONG_COMMENT}, "body"),
        (
            "post",
            "/api/v1/issues/{issue}/status",
            {"status": "closed", "comment": LONG_COMMENT},
            "comment",
        ),
        ("post", "/api/v1/projects", {"key": "LONG", "name": "n" * 101}, "name"),
        (
            "post",
            "/api/v1/projects",
            {"key": "LONG", "name": "n", "description": "d" * 10_001},
            "description",
        ),
        ("post", "/api/v1/projects/{project}/labels", {"name": "l" * 51}, "name"),
        ("patch", "/api/v1/me", {"display_name": "d" * 151}, "display_name"),
        ("post", "/api/v1/issues", {"title": "t", "labels": ["bug"] * 51}, "labels"),
    ],
)
def test_very_long_values_are_a_400(owner_client, issue, method, url, body, field):
    before = snapshot()
    url = url.format(issue=issue.key, project=issue.project.key)
    response = getattr(owner_client, method)(
        url, {"project": issue.project.key, **body}, format="json"
    )
    assert response.status_code == 400
    assert field in {e["field"] for e in response.json()["errors"]}
    assert snapshot() == before


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
@pytest.mark.parametrize("url", ["/api/v1/projects", "/api/v1/issues/{issue}/comments"])
def test_deeply_nested_json_is_a_400(owner_client, issue, url, depth):
    """Was a 500 past ~1,000 levels (Python's parser raised RecursionError)."""
    before = snapshot()
    body = '{"key": "DEEP", "name": "n", "body": ' + "[" * depth + "]" * depth + "}"
    url = url.format(issue=issue.key)
    response = owner_client.generic("POST", url, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert snapshot() == before


def test_json_as_deep_as_a_request_needs_is_parsed(owner_client, issue):
    body = '{"title": "Nested", "labels": ["bug"], "x": ' + "[" * 30 + "]" * 30 + "}"
    url = f"/api/v1/projects/{issue.project.key}/issues"
    response = owner_client.generic("POST", url, body, content_type="application/json")
    assert response.json()["labels"][0]["name"] == "bug"


def test_repeated_parameters_are_capped(owner_client, issue):
    """Each label is a subquery: 500 of them kept PostgreSQL busy for minutes."""
    started = time.monotonic()
    response = owner_client.get("/api/v1/issues?" + "&".join(["label=bug"] * 500))
    assert time.monotonic() - started < 5
    assert response.json()["errors"] == [
        {"field": "label", "message": "At most 10 values.", "code": "invalid"}
    ]
    ten = owner_client.get("/api/v1/issues?" + "&".join(["label=bug"] * 10))
    assert ten.json()["results"] == []  # the issue has no label


ANY_TEXT = [
    "'",
    '"',
    "' OR '1'='1",
    "1; DROP TABLE issues_issue; --",
    "%",
    "_",
    "%%_\\%",
    "\\",
    "a\x00b",
    "\x00",
    "<script>alert(1)</script>",
    '-"a" or b',  # websearch syntax
    "&|!():*<->",  # tsquery operators
    "!!!",
    "é∂ƒ©˙∆˚¬ 日本語 עברית العربية",
    "\u202eevil\u202c",
    "z\u0301\u0302\u0303",
    "\U0001f41b\U0001f525",
    "\ufeff\u200b",
    "\ud7ff\ue000",
    "   ",
    "x" * 200,
    "x" * 201,
    "WEB-1",
    "WEB-99999999999999999999",
    "-1",
    "null",
]


@pytest.mark.parametrize("text", ANY_TEXT)
def test_search_and_filter_text_of_any_content_is_a_200_or_a_400(owner_client, issue, text):
    before = snapshot()
    key, issue_key = issue.project.key, issue.key
    for url, parameter in [
        ("/api/v1/issues", "search"),
        ("/api/v1/issues", "assignee"),
        ("/api/v1/issues", "reporter"),
        ("/api/v1/issues", "label"),
        ("/api/v1/issues", "project"),
        (f"/api/v1/projects/{key}/issues", "search"),
        ("/api/v1/projects", "search"),
        (f"/api/v1/projects/{key}/members", "search"),
        (f"/api/v1/projects/{key}/labels", "search"),
        (f"/api/v1/issues/{issue_key}/comments", "author"),
        (f"/api/v1/issues/{issue_key}/events", "actor"),
    ]:
        response = owner_client.get(url, {parameter: text})
        assert response.status_code in (200, 400), (url, parameter, response.content)
        if response.status_code == 200:
            assert isinstance(response.json()["results"], list)
        else:
            assert response.json()["errors"][0]["field"] == parameter
    assert snapshot() == before


@pytest.mark.parametrize("text", ANY_TEXT)
def test_path_segments_of_any_content_are_a_404(owner_client, issue, text):
    before = snapshot()
    if "/" in text or text.strip() == "" or text in (issue.key,):
        pytest.skip("not a single path segment")
    segment = quote(text, safe="")
    for url in [
        f"/api/v1/projects/{segment}",
        f"/api/v1/issues/{segment}",
        f"/api/v1/issues/{segment}/events",
        f"/api/v1/comments/{segment}",
        f"/api/v1/projects/{issue.project.key}/labels/{segment}",
        f"/api/v1/projects/{issue.project.key}/members/{segment}",
    ]:
        response = owner_client.get(url)
        assert response.status_code == 404, (url, response.content)
        assert response.json()["code"] == "not_found"
        assert owner_client.delete(url).status_code == 404
    assert snapshot() == before
