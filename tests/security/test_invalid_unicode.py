"""Text that is not valid Unicode is a 400 naming where it was, wherever a request carries
text: JSON bodies (a lone surrogate, `"\\ud800"`, in any string or key), form and multipart
bodies, query strings and headers (bytes that are not UTF-8). An error that repeated a
surrogate (`"\\ud800" is not a valid choice.`) was a 500; bytes that are not UTF-8 were
searched for, or stored, as U+FFFD. Driven from the schema the code generates: every text
field of every write, every query parameter of every operation."""

import json
import re
from urllib.parse import quote

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT
from drf_orjson_renderer.renderers import ORJSONRenderer
from rest_framework.exceptions import ValidationError

from api.exceptions import problem_exception_handler
from api.unicode import INVALID_TEXT
from issues.models import Issue
from projects.models import Project
from tests.factories import IssueFactory
from tests.security.contract import schema_operations
from tests.state import database_state

pytestmark = pytest.mark.django_db

SURROGATE = "\ud800"
# Percent-encoded bytes that are not UTF-8: a surrogate's would-be UTF-8, and a lone byte.
NOT_UTF8 = ["%ED%A0%80", "%FF"]
# Header values as a WSGI server hands them over (each byte one latin-1 character).
HEADERS_NOT_UTF8 = ["\xed\xa0\x80", "\xff"]


def resolve(schema, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def is_text(schema, node: dict) -> bool:
    node = resolve(schema, node)
    alternatives = [sub for key in ("allOf", "oneOf", "anyOf") for sub in node.get(key, [])]
    return node.get("type") == "string" or any(is_text(schema, sub) for sub in alternatives)


def takes_json(operation) -> bool:
    """Imports take multipart only; their fields are checked by the multipart parser
    (tests/transfers/test_imports.py). Attachments take JSON too (a two-step upload)."""
    return "application/json" in operation.get("requestBody", {}).get("content", {})


def text_fields(schema, operation) -> list[tuple[str, object, str]]:
    """(property, a JSON value for it holding a lone surrogate, the field an error names)
    for each text property of the operation's request body, and each list of text."""
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    fields = []
    for name, node in resolve(schema, body)["properties"].items():
        node = resolve(schema, node)
        if is_text(schema, node):
            fields.append((name, SURROGATE, name))
        elif node.get("type") == "array" and is_text(schema, node["items"]):
            fields.append((name, ["fine", SURROGATE], f"{name}.1"))
    return fields


def assert_refused(response, *fields: str) -> None:
    """A 400 problem naming exactly `fields` as text that is not valid Unicode."""
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["detail"] == f"Invalid input in: {', '.join(sorted(fields))}."
    expected = [{"field": f, "message": INVALID_TEXT, "code": "invalid_unicode"} for f in fields]
    assert body["errors"] == expected


def test_a_lone_surrogate_in_any_text_field_is_a_400_naming_it(schema, owner_client, url_for):
    tried = set()
    for path, method, operation in schema_operations(schema):
        if not takes_json(operation):
            continue
        url = url_for(path)
        for name, value, field in text_fields(schema, operation):
            before = database_state()
            body = json.dumps({name: value})  # ASCII: the surrogate as the escape \ud800
            response = owner_client.generic(method.upper(), url, body, "application/json")
            assert_refused(response, field)
            assert database_state() == before, (method, path, name)
            tried.add((method, path, field))
    # The choice fields whose error repeated the surrogate, among every other text field.
    assert {
        ("post", "/api/v1/issues", "type"),
        ("patch", "/api/v1/issues/{issue_key}", "priority"),
        ("post", "/api/v1/projects/{project_key}/issues", "labels.1"),
        ("post", "/api/v1/issues/{issue_key}/status", "status"),
        ("post", "/api/v1/issues/{issue_key}/status", "resolution"),
        ("patch", "/api/v1/projects/{project_key}", "visibility"),
        ("post", "/api/v1/projects/{project_key}/members", "role"),
        ("patch", "/api/v1/projects/{project_key}/members/{username}", "role"),
    } <= tried
    assert len(tried) > 40


def test_a_lone_surrogate_in_a_key_is_a_400_naming_it(schema, owner_client, url_for):
    for path, method, operation in schema_operations(schema):
        if not takes_json(operation):
            continue
        before = database_state()
        body = json.dumps({SURROGATE: "x"})
        response = owner_client.generic(method.upper(), url_for(path), body, "application/json")
        assert_refused(response, "\\ud800")  # named by its escape
        assert database_state() == before, (method, path)


def test_text_deep_in_a_body_is_named_by_its_path(owner_client, project):
    body = json.dumps({"title": "Fine", "x": [{"y": {"z" + SURROGATE: 1}}, SURROGATE]})
    url = f"/api/v1/projects/{project.key}/issues"
    response = owner_client.post(url, body, content_type="application/json")
    assert_refused(response, "x.0.y.z\\ud800", "x.1")
    assert not Issue.objects.exists()


def test_valid_pairs_and_other_planes_are_text(owner_client, project):
    """A surrogate pair in JSON escapes is one character (an emoji), not two halves."""
    body = '{"title": "Ship it \\ud83d\\ude80", "labels": []}'
    url = f"/api/v1/projects/{project.key}/issues"
    response = owner_client.post(url, body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["title"] == "Ship it \U0001f680"
    assert Issue.objects.get().title == "Ship it \U0001f680"


def test_every_query_parameter_must_be_utf8(schema, owner_client, url_for):
    """Each documented parameter of every operation, and DRF's `format` (taken by all)."""
    for path, method, operation in schema_operations(schema):
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        for name in sorted(names | {"format"}):
            for value in NOT_UTF8:
                before = database_state()
                url = f"{url_for(path)}?{name}={value}"
                response = owner_client.generic(method.upper(), url)
                assert_refused(response, name)
                assert database_state() == before, (method, url)


def test_a_query_parameter_name_must_be_utf8(owner_client):
    response = owner_client.get("/api/v1/issues?%ED%A0%80=1&status=open")
    assert_refused(response, "\ufffd\ufffd\ufffd")  # named as Django decodes it


def test_utf8_query_text_is_searched_as_sent(owner_client, project):
    IssueFactory(project=project, title="Crème brûlée")
    found = owner_client.get(f"/api/v1/issues?search={quote('brûlée')}")
    assert [row["title"] for row in found.json()["results"]] == ["Crème brûlée"]


def multipart(fields: dict[str, bytes]) -> bytes:
    """A multipart/form-data body of MULTIPART_CONTENT's boundary, values as given."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value
        + b"\r\n"
        for name, value in fields.items()
    ]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


@pytest.mark.parametrize("raw", [b"\xed\xa0\x80", b"\xff", b"ok\xc3"])
def test_a_multipart_form_field_that_is_not_utf8_is_a_400(owner_client, project, raw):
    """The browsable API's HTML forms post multipart bodies."""
    url = f"/api/v1/projects/{project.key}/issues"
    body = multipart({"title": b"Fine", "description": raw})
    response = owner_client.generic("POST", url, body, MULTIPART_CONTENT)
    assert_refused(response, "description")
    assert not Issue.objects.exists()


@pytest.mark.parametrize("encoded", NOT_UTF8)
def test_a_urlencoded_form_field_that_is_not_utf8_is_a_400(owner_client, project, encoded):
    url = f"/api/v1/projects/{project.key}/issues"
    body = f"title=Fine&type={encoded}"
    response = owner_client.generic("POST", url, body, "application/x-www-form-urlencoded")
    assert_refused(response, "type")
    assert not Issue.objects.exists()


def test_form_bodies_keep_utf8_text_as_sent(owner_client, project):
    url = f"/api/v1/projects/{project.key}/issues"
    title = "Crème brûlée 名前 \U0001f680"
    multipart = owner_client.post(url, {"title": title}, format="multipart")
    assert multipart.json()["title"] == title
    body = f"title={quote(title)}&description={quote('ü')}"
    form = owner_client.generic("POST", url, body, "application/x-www-form-urlencoded")
    assert (form.json()["title"], form.json()["description"]) == (title, "ü")
    assert list(Issue.objects.order_by("pk").values_list("title", flat=True)) == [title, title]


@pytest.mark.parametrize("value", HEADERS_NOT_UTF8)
def test_an_idempotency_key_that_is_not_utf8_is_a_400(owner_client, value):
    body = {"key": "UTF", "name": "Unicode"}
    response = owner_client.post(
        "/api/v1/projects", body, format="json", HTTP_IDEMPOTENCY_KEY=value
    )
    assert_refused(response, "Idempotency-Key")
    assert not Project.objects.filter(key="UTF").exists()


def test_a_utf8_idempotency_key_is_a_key(owner_client, django_capture_on_commit_callbacks):
    body = {"key": "UTF", "name": "Unicode"}
    key = "clé-1".encode().decode("latin-1")  # the bytes of UTF-8 text, as WSGI gives them
    with django_capture_on_commit_callbacks(execute=True):  # the record is kept on commit
        first = owner_client.post(
            "/api/v1/projects", body, format="json", HTTP_IDEMPOTENCY_KEY=key
        )
    again = owner_client.post("/api/v1/projects", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert Project.objects.filter(key="UTF").count() == 1


@pytest.mark.parametrize("value", HEADERS_NOT_UTF8)
def test_conditional_headers_that_are_not_utf8_are_a_400(owner_client, project, value):
    issue = IssueFactory(project=project, title="Kept")
    url = f"/api/v1/issues/{issue.key}"
    patched = owner_client.patch(url, {"title": "Changed"}, format="json", HTTP_IF_MATCH=value)
    assert_refused(patched, "If-Match")
    assert Issue.objects.get().title == "Kept"
    read = owner_client.get(url, HTTP_IF_NONE_MATCH=value)
    assert_refused(read, "If-None-Match")


@pytest.mark.parametrize("value", HEADERS_NOT_UTF8)
def test_a_request_id_that_is_not_utf8_is_a_400_and_not_echoed(owner_client, value):
    response = owner_client.get("/api/v1/issues", HTTP_X_REQUEST_ID=value)
    assert_refused(response, "X-Request-ID")
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_an_error_that_repeats_a_surrogate_still_renders():
    """Whatever an error message echoes, its answer renders (the JSON renderer refused it)."""
    error = ValidationError({"type": [f'"{SURROGATE}" is not a valid choice.']})
    response = problem_exception_handler(error, {"request": None})
    rendered = json.loads(ORJSONRenderer().render(response.data))
    assert rendered["errors"] == [
        {"field": "type", "message": '"\\ud800" is not a valid choice.', "code": "invalid"}
    ]
