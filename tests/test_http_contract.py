"""The HTTP contract, driven from the schema the code generates: every read that offers
If-None-Match honours it, every write that offers If-Match honours it, and every header
in the contract that an answer carries is declared for that answer (and the reverse)."""

import re

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test import override_settings

from tests.security.contract import (
    assert_conforms,
    schema_operations,
)
from tests.state import database_state

pytestmark = pytest.mark.django_db

# The response headers the contract declares (api/schema.py HEADERS).
CONTRACT_HEADERS = {
    "ETag",
    "Link",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Retry-After",
    "Idempotent-Replayed",
    "X-Request-ID",
}
RATE_LIMIT = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}


def sometimes(status: int) -> set[str]:
    """Headers declared where they may be sent, but not always are: the replay mark (only
    on a replay), and RateLimit-* on answers that can come before the throttle counts the
    request or after (a permission check on the object or not; a database lost while
    authenticating or later)."""
    return {"Idempotent-Replayed", *(RATE_LIMIT if status in (403, 503) else ())}


# A body for each write that offers If-Match (a DELETE needs none).
CHANGES = {
    ("patch", "/api/v1/me"): {"display_name": "Changed"},
    ("patch", "/api/v1/projects/{project_key}"): {"name": "Changed"},
    ("patch", "/api/v1/issues/{issue_key}"): {"title": "Changed"},
    ("post", "/api/v1/issues/{issue_key}/status"): {"status": "in_progress"},
    ("patch", "/api/v1/projects/{project_key}/labels/{label_id}"): {"name": "changed"},
    ("patch", "/api/v1/projects/{project_key}/members/{username}"): {"role": "maintainer"},
    ("patch", "/api/v1/comments/{comment_id}"): {"body": "Changed"},
    ("patch", "/api/v1/projects/{project_key}/webhooks/{webhook_id}"): {"description": "x"},
}


def header_parameters(operation) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}


def test_if_none_match_and_a_304_are_declared_together(schema):
    offered = []
    for path, method, operation in schema_operations(schema):
        responses = operation["responses"]
        if "If-None-Match" in header_parameters(operation):
            offered.append(path)
            assert method == "get", path
            assert "content" not in responses["304"], path
            assert "ETag" in responses["304"]["headers"], path
            assert "ETag" in responses["200"]["headers"], path
        else:
            assert "304" not in responses, (method, path)
        if "If-Match" in header_parameters(operation):
            assert "412" in responses, (method, path)
    # Among them the reads that offered it without honouring it once.
    assert {
        "/api/v1/issues/{issue_key}/comments",
        "/api/v1/issues/{issue_key}/events",
        "/api/v1/issues/{issue_key}/transitions",
        "/api/v1/projects/{project_key}/permissions/me",
        "/api/v1/projects/{project_key}/issues",
        "/api/v1/projects/{project_key}/labels",
        "/api/v1/projects/{project_key}/labels/{label_id}",
        "/api/v1/projects/{project_key}/members",
        "/api/v1/projects/{project_key}/members/{username}",
    } <= set(offered)


def test_every_read_that_offers_if_none_match_honours_it(schema, owner_client, url_for):
    for path, _, operation in schema_operations(schema, "get"):
        if "If-None-Match" not in header_parameters(operation):
            continue
        url = url_for(path)
        first = owner_client.get(url)
        assert first.status_code == 200, (url, first.content)
        tag = first["ETag"]
        assert re.fullmatch(r'"[0-9a-f]{40}"', tag), (url, tag)  # strong: no W/

        for header in (tag, f"W/{tag}", f'"other", {tag}', "*"):
            cached = owner_client.get(url, HTTP_IF_NONE_MATCH=header)
            assert cached.status_code == 304, (url, header)
            assert cached.content == b"", url
            assert cached["ETag"] == tag, url
            assert_conforms(schema, "get", path, cached)

        changed = owner_client.get(url, HTTP_IF_NONE_MATCH='"other"')
        assert changed.status_code == 200, url
        assert changed.json() == first.json(), url


def test_reads_that_do_not_offer_if_none_match_send_no_etag(schema, owner_client, url_for):
    plain = [
        path
        for path, _, operation in schema_operations(schema, "get")
        if "If-None-Match" not in header_parameters(operation)
    ]
    assert "/api/v1/" in plain
    for path in plain:
        response = owner_client.get(url_for(path))
        assert "ETag" not in response, path
        assert "ETag" not in operation_headers(schema, "get", path, response.status_code)


@pytest.mark.parametrize("stale", ['"stale"', 'W/"{tag}"'])
def test_every_write_that_offers_if_match_honours_it(schema, owner_client, url_for, stale):
    writes = [
        (path, method)
        for path, method, operation in schema_operations(schema)
        if "If-Match" in header_parameters(operation)
    ]
    assert {(m, p) for p, m in writes if m != "delete"} == set(CHANGES)
    assert len(writes) == len(CHANGES) + 6  # and the DELETEs of all but /me
    for path, method in writes:
        url = url_for(path)
        tag = owner_client.get(url.removesuffix("/status"))["ETag"].strip('"')
        before = database_state()
        response = getattr(owner_client, method)(
            url, CHANGES.get((method, path)), format="json", HTTP_IF_MATCH=stale.format(tag=tag)
        )
        assert response.status_code == 412, (method, url, response.content)
        assert response.json()["code"] == "precondition_failed"
        assert database_state() == before, (method, url)
        assert_conforms(schema, method, path, response)


# -- response headers ---------------------------------------------------------------------


def operation_headers(schema, method: str, path: str, status: int) -> set[str]:
    response = schema["paths"][path][method]["responses"][str(status)]
    return set(response.get("headers", {}))


def template_of(schema, url: str) -> str:
    """The schema's path for a URL (a literal path before one with parameters)."""
    url = url.split("?")[0]
    matches = [
        path for path in schema["paths"] if re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", path), url)
    ]
    return min(matches, key=lambda path: path.count("{"))


def assert_headers_declared(schema, method: str, url: str, response) -> None:
    """What the answer carries of the contract's headers is what its schema declares."""
    path = template_of(schema, url)
    declared = operation_headers(schema, method, path, response.status_code)
    sent = {name for name in CONTRACT_HEADERS if name in response}
    where = (method, url, response.status_code)
    assert sent <= declared, (where, sent - declared)
    assert declared - sometimes(response.status_code) <= sent, (where, declared - sent)


def test_every_header_an_answer_carries_is_declared_for_it(
    schema, owner_client, api_client, url_for, project, django_capture_on_commit_callbacks
):
    issue = url_for("/api/v1/issues/{issue_key}")
    tag = owner_client.get(issue)["ETag"]
    comments = url_for("/api/v1/issues/{issue_key}/comments")
    once = {"HTTP_IDEMPOTENCY_KEY": "k", "data": {"body": "Hi"}}
    # (who asks, method, URL, what else is sent, the status expected)
    requests = [
        (owner_client, "get", "/api/v1/issues", {}, 200),
        (owner_client, "get", url_for("/api/v1/projects/{project_key}/members"), {}, 200),
        (owner_client, "get", url_for("/api/v1/projects/{project_key}/permissions/me"), {}, 200),
        (owner_client, "get", issue, {}, 200),
        (owner_client, "get", issue, {"HTTP_IF_NONE_MATCH": tag}, 304),
        (owner_client, "get", "/api/v1/me", {}, 200),
        (owner_client, "patch", issue, {"data": {"title": "New"}}, 200),
        (owner_client, "patch", issue, {"data": {"title": "Newer"}, "HTTP_IF_MATCH": tag}, 412),
        (owner_client, "patch", issue, {"data": {"title": ""}}, 400),
        (owner_client, "post", comments, once, 201),
        (owner_client, "post", comments, once, 201),  # the replay
        (owner_client, "delete", url_for("/api/v1/comments/{comment_id}"), {}, 204),
        (owner_client, "get", f"/api/v1/projects/{project.key}/labels/999999", {}, 404),
        (owner_client, "get", "/api/v1/", {}, 200),
        (owner_client, "get", "/.well-known/jwks.json", {}, 200),
        (api_client, "get", "/api/v1/issues", {}, 401),
        (api_client, "get", "/.well-known/jwks.json", {}, 200),
        (api_client, "get", "/api/v1/", {}, 200),  # counted by the client's address
    ]
    answers = []
    for caller, method, url, extra, status in requests:
        with django_capture_on_commit_callbacks(execute=True):
            response = getattr(caller, method)(url, format="json", **extra)
        assert response.status_code == status, (method, url, response.content)
        answers.append((method, url, response))
    assert [r.get("Idempotent-Replayed") for _, _, r in answers[9:11]] == [None, "true"]
    for method, url, response in answers:
        assert_headers_declared(schema, method, url, response)


def test_throttled_and_unavailable_answers_declare_retry_after(schema, owner_client, monkeypatch):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "1/min"}
    with override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    ):
        assert owner_client.get("/api/v1/projects").status_code == 200
        throttled = owner_client.get("/api/v1/projects")
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert_headers_declared(schema, "get", "/api/v1/projects", throttled)

    def down(*args, **kwargs):
        raise OperationalError("the database system is shutting down")

    monkeypatch.setattr(connection, "cursor", down)
    unavailable = owner_client.post(
        "/api/v1/projects", {"key": "NEW", "name": "New"}, format="json"
    )
    assert unavailable.status_code == 503
    assert unavailable["Retry-After"] == "5"
    assert_headers_declared(schema, "post", "/api/v1/projects", unavailable)
    # The keys are in memory: the JWKS answers without the database, and declares no 503.
    jwks = owner_client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    assert "503" not in schema["paths"]["/.well-known/jwks.json"]["get"]["responses"]


def test_options_describes_every_path(schema, owner_client, url_for):
    """OPTIONS (a CORS preflight, or a client asking what it may send) answers on every path
    of the schema; describing a PUT or POST reads the object and must find it."""
    for path in schema["paths"]:
        url = url_for(path)
        response = owner_client.options(url)
        assert response.status_code in (200, 404), (url, response.status_code)
        if response.status_code == 200 and response.get("Content-Type", "").startswith(
            "application/json"
        ):
            assert "name" in response.json(), url
