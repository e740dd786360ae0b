"""Checks an API response against the OpenAPI schema the code generates (the contract)."""

import re

import jsonschema
from drf_spectacular.generators import SchemaGenerator

from tests.factories import CommentFactory, IssueFactory, LabelFactory

# OpenAPI 3.0 keywords JSON Schema does not know; `nullable` is rewritten.
_ANNOTATIONS = {"nullable", "example", "readOnly", "writeOnly", "discriminator", "xml"}


def generate_schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def schema_operations(schema, method=None):
    """(path, method, operation) for every operation of `schema`, or of one method."""
    for path, methods in schema["paths"].items():
        for verb, operation in methods.items():
            if method is None or verb == method:
                yield path, verb, operation


def url_filler(project, owner, member):
    """A function giving a URL for a path of the schema, naming objects of `project` (made
    here) that its `owner` may read and change, and `member`'s membership."""
    issue = IssueFactory(project=project, reporter=owner, assignee=owner)
    comment = CommentFactory(issue=issue, author=owner)
    label = LabelFactory(project=project, name="backend")

    def fill(path: str) -> str:
        values = {
            "project_key": project.key,
            "issue_key": issue.key,
            "key": issue.key if path.startswith("/api/v1/issues/") else project.key,
            "id": comment.pk if path.startswith("/api/v1/comments/") else label.pk,
            "username": member.username,
        }
        return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)

    return fill


def _json_schema(node):
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items()}
    converted = {key: value for key, value in converted.items() if key not in _ANNOTATIONS}
    return {"anyOf": [converted, {"type": "null"}]} if node.get("nullable") else converted


def operation(schema: dict, method: str, path: str) -> dict:
    return schema["paths"][path][method.lower()]


def assert_conforms(schema: dict, method: str, path: str, response) -> None:
    """The response's status is documented for the operation and its body matches."""
    responses = operation(schema, method, path)["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method} {path}: {status} is not documented"
    documented = responses[status]
    if "$ref" in documented:
        documented = schema["components"]["responses"][documented["$ref"].rsplit("/", 1)[1]]
    if "content" not in documented:
        assert not response.content, response.content
        return
    media_type = response["Content-Type"].split(";")[0]
    assert media_type in documented["content"], (method, path, status, media_type)
    body_schema = documented["content"][media_type]["schema"]
    root = {**_json_schema(body_schema), "components": _json_schema(schema["components"])}
    jsonschema.Draft202012Validator(root).validate(response.json())
