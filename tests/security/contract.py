"""Checks an API response against the OpenAPI schema the code generates (the contract)."""

import re

import jsonschema
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator

from accounts.services import pat_create
from attachments.models import Attachment
from events.outbox import event_emit
from issues.models import IssueRelation
from projects.models import Role
from projects.services import bot_create
from tests.factories import CommentFactory, IssueFactory, LabelFactory, ThreadFactory
from transfers.models import Import
from transfers.services import export_create
from webhooks import services as webhooks
from webhooks.models import Delivery

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
    here) that its `owner` may read and change, and `member`'s membership (a bot's under
    /bots/, with a token of its own)."""
    issue = IssueFactory(project=project, reporter=owner, assignee=owner)
    comment = CommentFactory(issue=issue, author=owner)
    label = LabelFactory(project=project, name="backend")
    webhook = webhooks.webhook_create(project=project, creator=owner, url="https://8.8.8.8/hook")
    with transaction.atomic():
        event = event_emit(type="project.updated", project=project, actor=owner, data={})
    delivery = Delivery.objects.create(webhook=webhook, event=event, status="failed")
    own_token, _ = pat_create(user=owner, name="contract", scopes=["read"])
    bot = bot_create(project=project, name="contract", role=Role.DEVELOPER, actor=owner).user
    bot_token, _ = pat_create(user=bot, name="contract", scopes=["read"], projects=[project])
    export = export_create(project=project, requested_by=owner, format="csv", filters={})
    imported = Import.objects.create(project=project, requested_by=owner, format="csv")
    thread = ThreadFactory(user=owner, issue=issue)  # notifications
    relation = IssueRelation.objects.create(
        source=issue, target=IssueFactory(project=project), type="relates_to"
    )
    attachment = Attachment.objects.create(
        issue=issue, uploader=owner, key=Attachment.new_key(), filename="a.txt", size=0
    )

    def fill(path: str) -> str:
        under_bots = "/bots/" in path
        values = {
            "project_key": project.key,
            "issue_key": issue.key,
            "comment_id": comment.pk,
            "label_id": label.pk,
            "username": bot.username if under_bots else member.username,
            "webhook_id": webhook.pk,
            "delivery_id": delivery.pk,
            "token_id": bot_token.pk if under_bots else own_token.pk,
            "export_id": export.pk,
            "import_id": imported.pk,
            "thread_id": thread.pk,
            "relation_id": relation.pk,
            "attachment_id": attachment.pk,
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
