"""The OpenAPI schema documents every list parameter with its type and enum values."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from issues.models import Issue, IssueEvent

STRING = {"type": "string"}
DATE_TIME = {"type": "string", "format": "date-time"}
DATE = {"type": "string", "format": "date"}
INTEGER = {"type": "integer"}


def enum(values) -> dict:
    return {"type": "string", "enum": sorted(values)}


def many(items: dict) -> dict:
    return {"type": "array", "items": items}


PAGING = {"page": INTEGER, "page_size": INTEGER}
CURSOR = {"cursor": STRING}
ISSUE_FILTERS = {
    "project": many(STRING),
    "status": many(enum(Issue.Status.values)),
    "priority": many(enum(["lowest", "low", "medium", "high", "highest"])),
    "type": enum(Issue.Type.values),
    "resolution": enum(Issue.Resolution.values),
    "assignee": STRING,
    "reporter": STRING,
    "label": many(STRING),
    "created_after": DATE_TIME,
    "created_before": DATE_TIME,
    "updated_after": DATE_TIME,
    "updated_before": DATE_TIME,
    "due_after": DATE,
    "due_before": DATE,
    "is_open": enum(["true", "false"]),
    "blocked": enum(["true", "false"]),
    "has_children": enum(["true", "false"]),
    "parent": STRING,
    "related_to": STRING,
    "ready": enum(["true", "false"]),
    "search": STRING,
    "expand": enum(["relations"]),
    **PAGING,
    **CURSOR,
}
ROLES = ["viewer", "reporter", "developer", "maintainer", "owner"]

# list path: (its parameters but `ordering`, the fields `ordering` takes)
LISTS = {
    "/api/v1/issues": (
        ISSUE_FILTERS,
        ["created_at", "updated_at", "priority", "status", "due_date", "number", "title", "rank"],
    ),
    "/api/v1/projects/{project_key}/issues": (
        ISSUE_FILTERS,
        ["created_at", "updated_at", "priority", "status", "due_date", "number", "title", "rank"],
    ),
    "/api/v1/projects": (
        {
            "visibility": enum(["private", "internal"]),
            "role": enum(ROLES),
            "archived": enum(["true", "false"]),
            "search": STRING,
            **PAGING,
        },
        ["name", "key", "created_at", "updated_at"],
    ),
    "/api/v1/projects/{project_key}/members": (
        {"role": many(enum(ROLES)), "search": STRING, **PAGING},
        ["role", "username", "created_at"],
    ),
    "/api/v1/projects/{project_key}/labels": (
        {"search": STRING, **PAGING},
        ["name", "created_at"],
    ),
    "/api/v1/issues/{issue_key}/comments": (
        {
            "author": STRING,
            "created_after": DATE_TIME,
            "created_before": DATE_TIME,
            **PAGING,
            **CURSOR,
        },
        ["created_at", "updated_at"],
    ),
    "/api/v1/issues/{issue_key}/events": (
        {"kind": many(enum(IssueEvent.Kind.values)), "actor": STRING, **PAGING, **CURSOR},
        ["created_at"],
    ),
}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def query_parameters(schema, path) -> dict[str, dict]:
    operation = schema["paths"][path]["get"]
    return {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}


def shape(parameter_schema: dict) -> dict:
    """Type, format, enum (sorted) and items of a parameter schema; the rest is prose."""
    kept = {k: parameter_schema[k] for k in ("type", "format") if k in parameter_schema}
    if "enum" in parameter_schema:
        kept["enum"] = sorted(parameter_schema["enum"])
    if "items" in parameter_schema:
        kept["items"] = shape(parameter_schema["items"])
    return kept


@pytest.mark.parametrize("path", list(LISTS))
def test_every_list_parameter_is_documented_with_its_type(schema, path):
    expected, _ = LISTS[path]
    parameters = query_parameters(schema, path)
    assert set(parameters) == {*expected, "ordering"}
    assert {name: shape(parameters[name]["schema"]) for name in expected} == expected


@pytest.mark.parametrize("path", list(LISTS))
def test_repeatable_parameters_are_exploded_arrays(schema, path):
    expected, _ = LISTS[path]
    for name, parameter in query_parameters(schema, path).items():
        if name in expected and expected[name]["type"] == "array":
            assert parameter.get("explode") is True, name
            assert parameter.get("style", "form") == "form", name


@pytest.mark.parametrize("path", list(LISTS))
def test_the_ordering_parameter_names_every_sort_field(schema, path):
    _, fields = LISTS[path]
    ordering = query_parameters(schema, path)["ordering"]
    documented = ordering["description"] + str(ordering["schema"])
    for field in fields:
        assert field in documented, field
    if ordering["schema"].get("type") == "array":
        terms = set(ordering["schema"]["items"]["enum"])
        assert terms == {*fields, *(f"-{f}" for f in fields)}


def test_the_issue_list_enums_are_the_model_choices(schema):
    parameters = query_parameters(schema, "/api/v1/issues")
    assert sorted(parameters["status"]["schema"]["items"]["enum"]) == sorted(Issue.Status.values)
    assert sorted(parameters["priority"]["schema"]["items"]["enum"]) == sorted(
        p.label for p in Issue.Priority
    )
    assert sorted(parameters["type"]["schema"]["enum"]) == sorted(Issue.Type.values)
    assert sorted(parameters["resolution"]["schema"]["enum"]) == sorted(Issue.Resolution.values)
    assert parameters["search"]["schema"]["maxLength"] == 200
    assert (
        parameters["search"]["schema"]
        == query_parameters(schema, "/api/v1/projects")["search"]["schema"]
    )


@pytest.mark.parametrize("path", list(LISTS))
def test_list_responses_describe_the_page_body(schema, path):
    response = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    ref = response["schema"]["$ref"].rpartition("/")[2]
    properties = schema["components"]["schemas"][ref]["properties"]
    assert {"count", "count_exact", "next", "previous", "results"} <= set(properties)
    assert properties["count"]["type"] == "integer"
    assert properties["count_exact"]["type"] == "boolean"
    assert properties["results"]["type"] == "array"
