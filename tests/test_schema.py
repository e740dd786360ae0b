"""The API contract: the committed openapi.yaml is what the code generates, and it is valid."""

import re
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db

COMMITTED = Path(__file__).resolve().parent.parent / "openapi.yaml"


@pytest.fixture(scope="module")
def generated(tmp_path_factory, django_db_blocker):
    path = tmp_path_factory.mktemp("schema") / "openapi.yaml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return path.read_text()


def test_committed_schema_matches_the_code(generated):
    assert generated == COMMITTED.read_text(), (
        "openapi.yaml is stale: regenerate it with "
        "`.venv/bin/python manage.py spectacular --validate --fail-on-warn --file openapi.yaml`"
    )


def test_every_operation_documents_errors_and_auth(generated):
    schema = yaml.safe_load(generated)
    assert schema["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            responses = operation["responses"]
            assert "429" in responses, (method, path)
            assert any(code.startswith("2") for code in responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
    status = schema["paths"]["/api/v1/issues/{issue_key}/status"]["post"]
    assert {"400", "401", "403", "404", "409", "412"} <= set(status["responses"])
    assert "If-Match" in [p["name"] for p in status["parameters"]]


def test_creates_document_the_404_of_a_replay_the_caller_can_no_longer_see(generated):
    paths = yaml.safe_load(generated)["paths"]
    for path in ("/api/v1/issues", "/api/v1/projects"):
        assert "404" in paths[path]["post"]["responses"], path


def test_docs_pages_are_served_with_local_assets(client):
    for url in ("/api/v1/docs/", "/api/v1/redoc/"):
        response = client.get(url)
        assert response.status_code == 200
        page = response.content.decode()
        assert "/static/drf_spectacular_sidecar/" in page
        assert "cdn.jsdelivr" not in page
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "Issue Tracker API"


# What a client developer meets: the rules every operation follows, new ones included.


def _operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


@pytest.fixture(scope="module")
def schema(generated):
    return yaml.safe_load(generated)


def test_operation_ids_are_unique_identifiers_named_by_one_scheme(schema):
    ids = [operation["operationId"] for _, _, operation in _operations(schema)]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not re.fullmatch(r"[a-z][a-z0-9_]*", i)] == []
    # `<resource>_<verb>` with api.schema.ACTION_VERBS, not drf-spectacular's defaults.
    assert [i for i in ids if re.search(r"_(retrieve|partial_update|destroy)$", i)] == []
    named = {(m, p): o["operationId"] for p, m, o in _operations(schema)}
    assert {
        ("post", "/api/v1/auth/login"): "auth_login",
        ("post", "/api/v1/auth/refresh"): "auth_refresh",
        ("get", "/api/v1/issues"): "issues_list",
        ("post", "/api/v1/issues"): "issues_create",
        ("get", "/api/v1/issues/{issue_key}"): "issues_get",
        ("patch", "/api/v1/issues/{issue_key}"): "issues_update",
        ("delete", "/api/v1/issues/{issue_key}"): "issues_delete",
        ("post", "/api/v1/issues/{issue_key}/status"): "issues_transition",
        ("get", "/api/v1/projects/{project_key}/members"): "projects_members_list",
        ("post", "/api/v1/projects/{project_key}/archive"): "projects_archive",
        ("get", "/api/v1/me"): "me_get",
        ("get", "/.well-known/jwks.json"): "jwks_get",
    }.items() <= named.items()


def test_every_operation_has_a_summary_and_a_description_of_its_own(schema):
    methods_by_description = {}
    for path, method, operation in _operations(schema):
        assert operation.get("summary", "").strip(), (method, path)
        assert operation.get("description", "").strip(), (method, path)
        methods_by_description.setdefault(operation["description"], set()).add(method)
    # The same words may describe one method on two paths (POST /issues and
    # /projects/{project_key}/issues both create an issue), never a read and a change.
    shared = {text: ms for text, ms in methods_by_description.items() if len(ms) > 1}
    assert shared == {}
    single = schema["paths"]["/api/v1/issues/{issue_key}"]["patch"]
    assert "every project" not in single["description"]
    assert single["summary"] == "Update an issue"


def test_each_path_parameter_name_means_one_thing(schema):
    meanings = {}
    for path, method, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["name"] not in {"id", "pk", "key"}, (method, path)
                assert parameter["description"], (method, path, parameter["name"])
                meaning = (parameter["description"], repr(parameter["schema"]))
                meanings.setdefault(parameter["name"], set()).add(meaning)
    assert {name: m for name, m in meanings.items() if len(m) > 1} == {}
    assert {"project_key", "issue_key", "comment_id", "label_id"} <= set(meanings)


def _string_enums(node):
    if isinstance(node, list):
        for item in node:
            yield from _string_enums(item)
    elif isinstance(node, dict):
        if any(isinstance(value, str) for value in node.get("enum") or ()):
            yield node
        for value in node.values():
            yield from _string_enums(value)


def test_every_enum_names_its_members_for_generated_clients(schema):
    for enum in _string_enums(schema):
        values = [value for value in enum["enum"] if value is not None]
        names = enum.get("x-enum-varnames", [])
        assert len(names) == len(values), values
        assert len(set(names)) == len(names), names
        assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", name) for name in names), names
    (ordering,) = [
        p
        for p in schema["paths"]["/api/v1/issues"]["get"]["parameters"]
        if p["name"] == "ordering"
    ]
    items = ordering["schema"].get("items", ordering["schema"])
    names = dict(zip(items["enum"], items["x-enum-varnames"], strict=True))
    assert (names["-created_at"], names["created_at"]) == ("CREATED_AT_DESC", "CREATED_AT")


def _resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_request_bodies_are_typed_objects(schema):
    """An anyOf/oneOf at the top of a body becomes an untyped value in generated clients."""
    for path, method, operation in _operations(schema):
        if "requestBody" in operation:
            # JSON, or multipart for uploads (tests/security/test_fuzz_regressions.py)
            for media in operation["requestBody"]["content"].values():
                body = _resolve(schema, media["schema"])
                assert body["type"] == "object", (method, path)
                assert not {"anyOf", "oneOf", "allOf"} & set(body), (method, path)
    login = schema["components"]["schemas"]["LoginRequest"]
    assert (login["required"], set(login["properties"])) == (
        ["password"],
        {"username", "email", "password"},
    )


def test_no_value_is_null_never_a_blank_enum_member(schema):
    components = schema["components"]["schemas"]
    for name, component in components.items():
        assert "" not in component.get("enum", []), name
    resolution = components["Issue"]["properties"]["resolution"]
    assert {"$ref": "#/components/schemas/NullEnum"} in resolution["oneOf"]
    event = components["IssueEvent"]["properties"]
    for field in ("from_status", "to_status"):
        refs = [s.get("$ref", "").rsplit("/", 1)[1] for s in event[field]["oneOf"]]
        assert refs == ["IssueStatusEnum", "NullEnum"], field
    statuses = ["open", "in_progress", "in_review", "resolved", "closed"]
    assert components["IssueStatusEnum"]["enum"] == statuses
    for field in ("old_value", "new_value"):
        assert event[field]["nullable"] is True
        assert event[field]["oneOf"] == [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}},
            {"type": "object", "additionalProperties": True},  # kind=imported: its origin
        ]


def test_links_name_operations_and_parameters_that_exist(schema):
    parameters = {
        o["operationId"]: {p["name"] for p in o.get("parameters", []) if p["in"] == "path"}
        for _, _, o in _operations(schema)
    }
    followed = 0
    for path, method, operation in _operations(schema):
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                assert link["operationId"] in parameters, (method, path, link)
                assert set(link["parameters"]) == parameters[link["operationId"]], link
                followed += 1
    assert followed > 30


def test_what_an_operation_may_answer_follows_its_views_declarations(schema):
    """api.schema.declared: the schema reads each view, never a table of paths."""

    def responses(path, method):
        return set(schema["paths"][path][method]["responses"])

    # conflict_actions: a membership's writes can be 409s, its reads cannot.
    members = "/api/v1/projects/{project_key}/members"
    assert "409" in responses(members, "post")
    assert "409" in responses(members + "/{username}", "patch")
    assert "409" not in responses(members, "get")
    assert "409" not in responses(members + "/{username}", "get")
    # AllowAny alone: public; checks_credentials a 401, signed_link a 403, neither both.
    assert {"401", "403"} & responses("/api/v1/auth/register", "post") == set()
    assert {"401", "403"} & responses("/api/v1/auth/login", "post") == {"401"}
    assert {"401", "403"} & responses("/api/v1/exports/{export_id}/download", "get") == {"403"}
    assert {"401", "403"} <= responses("/api/v1/issues", "get")
    # uses_database = False: no 503.
    assert "503" not in responses("/.well-known/jwks.json", "get")
    assert "503" in responses("/api/v1/", "get")
    # An IdempotentCreateMixin's create takes the key; schema_links follow the answer.
    created = schema["paths"]["/api/v1/issues/{issue_key}/comments"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in created["parameters"]}
    assert set(created["responses"]["201"]["links"]) == {
        "comments_get",
        "comments_update",
        "comments_delete",
    }
