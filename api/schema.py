"""OpenAPI additions every operation shares: the problem-details error responses, the
response headers and the idempotency header, added in one place instead of on each view;
and the AutoSchema that documents what each view declares (conditional requests)."""

import re

from drf_spectacular import openapi
from drf_spectacular.plumbing import get_doc, get_view_model
from rest_framework.permissions import AllowAny

from api.conditional import action_of
from api.filters import MAX_REPEATS
from api.idempotency import IdempotentCreateMixin
from api.throttling import UserRateThrottle

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "An RFC 9457 problem document; every 4xx/5xx answer of the application "
    "has this shape (a 414 comes from the HTTP server in front of it).",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "example": "about:blank"},
        "title": {"type": "string", "example": "Conflict"},
        "status": {"type": "integer", "example": 409},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable, machine-readable error code."},
        "instance": {"type": "string", "description": "The request path."},
        "errors": {
            "type": "array",
            "description": "Invalid input only: one entry per problem, naming the field.",
            "items": {
                "type": "object",
                "required": ["field", "message", "code"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                    "line": {
                        "type": "integer",
                        "description": "Imports: the line of the file the problem is on.",
                    },
                    "key": {
                        "type": "string",
                        "description": "Bulk edits: the issue the problem is with.",
                    },
                    "status": {
                        "type": "integer",
                        "description": "Bulk edits: what a request for that issue alone "
                        "would have answered.",
                    },
                },
            },
        },
        "current_status": {"type": "string", "description": "Workflow errors: the status now."},
        "allowed_statuses": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Workflow errors: where the issue can go from here.",
        },
    },
}

ERRORS = {
    "400": ("Invalid input or query parameters.", "invalid", "Invalid input in: title."),
    "401": (
        "Missing, invalid, expired or revoked credentials.",
        "not_authenticated",
        "Authentication credentials were not provided.",
    ),
    "403": (
        "Signed in, but not allowed to do this.",
        "permission_denied",
        "You do not have permission to perform this action.",
    ),
    "404": ("Not found, or in a project the caller cannot see.", "not_found", "Not found."),
    "409": (
        "Conflicts with the resource's current state (e.g. a workflow step).",
        "transition_not_allowed",
        "Cannot move an issue from open to resolved; from open it can go to: "
        "in_progress, closed.",
    ),
    "412": (
        "If-Match did not match the resource's current ETag; nothing changed.",
        "precondition_failed",
        "The resource has changed since you read it (If-Match did not match).",
    ),
    "413": (
        "The request body is larger than the configured limit.",
        "request_too_large",
        "The request body is 2000000 bytes; the limit is 1048576.",
    ),
    "422": (
        "This Idempotency-Key was used before with a different body.",
        "idempotency_key_reused",
        "This Idempotency-Key was already used with a different request body.",
    ),
    "429": (
        "Too many requests; see the Retry-After header.",
        "throttled",
        "Request was throttled. Expected available in 42 seconds.",
    ),
    "503": (
        "The database cannot be reached now; retry after the Retry-After header's seconds.",
        "database_unavailable",
        "The database is unavailable; retry shortly.",
    ),
}

# A URL longer than the HTTP server's request-line limit never reaches the application.
URI_TOO_LONG = {
    "description": "The URL is longer than the HTTP server accepts (about 4 KB); it answers "
    "itself, with an HTML page.",
    "content": {"text/html": {"schema": {"type": "string"}}},
}

# Response headers, defined once (components/headers) and referenced by every response
# that sends them: name -> (schema, description).
HEADERS = {
    "ETag": (
        {"type": "string"},
        "The representation's strong entity tag: send it back as If-None-Match (304 while "
        "unchanged) or If-Match (412 if it changed since).",
    ),
    "Link": (
        {"type": "string"},
        'RFC 8288 links to the pages that exist: rel="next", "prev", "first", "last".',
    ),
    "RateLimit-Limit": (
        {"type": "integer"},
        "Requests allowed per window by the caller's general limit (per user; per client "
        "address without credentials).",
    ),
    "RateLimit-Remaining": ({"type": "integer"}, "Requests left in the current window."),
    "RateLimit-Reset": (
        {"type": "integer"},
        "Seconds until the oldest request counted leaves the window.",
    ),
    "Retry-After": ({"type": "integer"}, "Seconds to wait before retrying."),
    "Idempotent-Replayed": (
        {"type": "string", "enum": ["true"]},
        "The stored answer to an earlier request with this Idempotency-Key: nothing was "
        "created now.",
    ),
    "X-Request-ID": (
        {"type": "string"},
        "The request's id in the service's logs: the client's own X-Request-ID when it is 1 "
        "to 128 of A-Z a-z 0-9 . _ : -, else a new one.",
    ),
}
RATE_LIMIT_HEADERS = ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]
# Answers given before the throttle counts the request: no RateLimit-* on them.
BEFORE_THE_THROTTLE = {"401", "413"}


def links_to(operation_ids: list[str], **parameters: str) -> dict:
    """OpenAPI links to `operation_ids`, their parameters read from the answer or the
    request: a view's `schema_links` (below)."""
    return {op: {"operationId": op, "parameters": parameters} for op in operation_ids}


# What the schema reads from a view, beside its permission classes, throttles and
# ConditionalMixin's etag_actions/if_match_actions (DEVELOPERS.md, "Adding an endpoint"):
#   checks_credentials  public, but checks a password or a refresh token: 401
#   signed_link         public behind a signed link that expires: 403 for one that is not valid
#   uses_database       False where the answer comes from memory: never the 503 of a database
#                       that cannot be reached
#   conflict_actions    the actions that can answer 409
#   schema_links        {action: {status: links}}: what a client can do next with the object
#                       the action returned (stateful fuzzing follows them too)
# and an IdempotentCreateMixin's create takes an Idempotency-Key.


def declared(view, method: str) -> dict:
    """What `view` says of the operation for `method`, as add_shared_responses reads it."""
    action = action_of(view, method)
    public = all(issubclass(p, AllowAny) for p in view.permission_classes)
    if not public:
        access = "authenticated"
    elif getattr(view, "checks_credentials", False):
        access = "credentials"
    elif getattr(view, "signed_link", False):
        access = "signed"
    else:
        access = "public"
    return {
        "access": access,
        "database": getattr(view, "uses_database", True),
        "create": method == "POST"
        and action == "create"
        and isinstance(view, IdempotentCreateMixin),
        "conflict": action in getattr(view, "conflict_actions", ()),
        "links": getattr(view, "schema_links", {}).get(action, {}),
    }


def _problem_response(code: str) -> dict:
    description, error_code, detail = ERRORS[code]
    example = {
        "type": "about:blank",
        "title": {
            "400": "Bad Request",
            "401": "Unauthorized",
            "403": "Forbidden",
            "404": "Not Found",
            "409": "Conflict",
            "412": "Precondition Failed",
            "413": "Content Too Large",
            "422": "Unprocessable Content",
            "429": "Too Many Requests",
            "503": "Service Unavailable",
        }[code],
        "status": int(code),
        "detail": detail,
        "code": error_code,
    }
    content = {"schema": PROBLEM_REF, "example": example}
    return {"description": description, "content": {"application/problem+json": content}}


def _header(name: str, description: str) -> dict:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }


def _codes_for(path: str, method: str, operation: dict, view: dict) -> list[str]:
    codes = ["429"]
    if view["access"] == "authenticated":
        codes += ["401", "403"]
    elif view["access"] == "credentials":
        codes.append("401")
    elif view["access"] == "signed":
        codes.append("403")
    query = {p.get("name") for p in operation.get("parameters", []) if p.get("in") == "query"}
    if "{" in path or "page" in query:  # a page past the last one is a 404 too
        codes.append("404")
    # Any operation: a query parameter it does not take (api.filters.StrictQueryMixin) or
    # text that is not UTF-8 (api.unicode); writes: invalid input.
    codes.append("400")
    if method in ("post", "put", "patch"):
        codes.append("413")
    if "If-Match" in {p.get("name") for p in operation.get("parameters", [])}:
        codes.append("412")
    if view["conflict"]:
        codes.append("409")
    if view["create"]:
        # The Idempotency-Key is in use by a running request, or reused; a retry of a create
        # whose result the caller can no longer see (removed from the project, deleted) is
        # a 404 even where the URL names no object.
        codes += ["404", "409", "422"]
    if view["database"]:
        codes.append("503")
    return codes


def _empty_means_absent(parameter: dict) -> bool:
    """List filters, search, ordering and page_size given as `?name=` are ignored, as
    browsable-API and HTML forms send them; `?page=` is a 400, and so is an empty value
    among a repeatable parameter's choices."""
    return (
        parameter.get("in") == "query"
        and parameter.get("name") != "page"
        and not _repeatable(parameter)
    )


def _repeatable(parameter: dict) -> bool:
    """`?status=open&status=closed`: an array given as the parameter repeated."""
    array = parameter.get("schema", {}).get("type") == "array"
    return parameter.get("in") == "query" and array and parameter.get("explode", True)


def _send(response: dict, *names: str) -> None:
    headers = response.setdefault("headers", {})
    for name in names:
        headers[name] = {"$ref": f"#/components/headers/{name}"}


# Operation ids are `<resource>_<verb>`: the resource is the path's words without its
# parameters (`projects_members`), the verb a viewset action's (below), an extra action's
# own name (`issues_transition`), or the method's. Generated clients name their functions
# after them, so they stay stable across releases.
ACTION_VERBS = {
    "list": "list",
    "create": "create",
    "retrieve": "get",
    "update": "replace",
    "partial_update": "update",
    "destroy": "delete",
}
METHOD_VERBS = {"GET": "get", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}

# What a standard action does, for its summary and its description; an operation whose
# handler has a docstring of its own, or an @extend_schema summary, says it itself.
ACTION_SUMMARIES = {
    "list": "List {plural}",
    "create": "Create {a_noun}",
    "retrieve": "Get {a_noun}",
    "update": "Replace {a_noun}",
    "partial_update": "Update {a_noun}",
    "destroy": "Delete {a_noun}",
}
ACTION_DESCRIPTIONS = {
    "list": "The {plural}.",
    "create": "Create {a_noun}; the answer is the {noun} as stored.",
    "retrieve": "The {noun} the path names.",
    "update": "Replace every field of the {noun} the path names.",
    "partial_update": "Change the fields sent of the {noun} the path names; the others keep "
    "their value. The answer is the {noun} as stored.",
    "destroy": "Delete the {noun} the path names.",
}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, plus what the view itself declares: its conditional requests
    (ConditionalMixin's etag_actions and if_match_actions) and whether the throttle that
    reports RateLimit-* counts it. Read from the view, so the schema cannot promise what
    the view does not do. Operation ids, summaries and descriptions follow one scheme."""

    def _handler(self):
        """The viewset action's method, or the view's method handler."""
        name = getattr(self.view, "action", None) or self.method.lower()
        return getattr(self.view, name, None)

    def get_operation_id(self):
        action = getattr(self.view, "action", None)
        path = self.path
        url_path = getattr(self._handler(), "url_path", None)
        if url_path:  # an extra action: its own path is its name, not the resource's
            path = path.removesuffix(f"/{url_path}")
        path = re.sub(self.path_prefix, "", path, flags=re.IGNORECASE)
        words = [re.sub(r"\W+", "_", s).strip("_") for s in path.split("/") if s[:1] != "{"]
        resource = "_".join(w for w in words if w) or "root"
        if url_path:
            return f"{resource}_{action}"
        if action in ACTION_VERBS:
            return f"{resource}_{ACTION_VERBS[action]}"
        if self.method == "POST":  # a view of its own taking POST is a command: auth/login
            return resource
        return f"{resource}_{METHOD_VERBS[self.method]}"

    def _standard_action(self):
        """The standard viewset action and the words naming its model:
        (action, {"noun", "a_noun", "plural"}), or None."""
        action = getattr(self.view, "action", None)
        model = get_view_model(self.view, emit_warnings=False)
        if action not in ACTION_SUMMARIES or model is None:
            return None
        meta = model._meta
        noun = str(meta.verbose_name)
        article = "an" if noun[0] in "aeiou" else "a"
        plural = str(meta.verbose_name_plural)
        return action, {"noun": noun, "a_noun": f"{article} {noun}", "plural": plural}

    def get_summary(self):
        standard = self._standard_action()
        if standard:
            action, words = standard
            return ACTION_SUMMARIES[action].format(**words)
        # Else the description's first sentence (or clause), on one line.
        first = re.split(r"[.:;](\s|$)", self.get_description(), maxsplit=1)[0]
        return " ".join(first.split())

    def get_description(self):
        standard = self._standard_action()
        if standard is None or get_doc(self._handler()):
            return super().get_description()
        action, words = standard
        # The class's docstring describes the collection: only the list says it.
        if action == "list" and get_doc(self.view.__class__):
            return get_doc(self.view.__class__)
        return ACTION_DESCRIPTIONS[action].format(**words)

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        parameters = operation.setdefault("parameters", [])
        responses = operation["responses"]
        action = action_of(self.view, self.method)
        if action in getattr(self.view, "if_match_actions", ()):
            parameters.append(
                _header(
                    "If-Match",
                    "An ETag from a previous read: the change is made only if the resource "
                    "still has it (else 412). Without it (or with `*`) the change is made "
                    "regardless.",
                )
            )
        if action in getattr(self.view, "etag_actions", ()) and "200" in responses:
            _send(responses["200"], "ETag")
            if self.method == "GET":
                parameters.append(
                    _header(
                        "If-None-Match",
                        'ETags from previous reads: 304 if one is still current (W/"x" '
                        'counts as "x"; `*` as any).',
                    )
                )
                responses["304"] = {
                    "description": "Not Modified: the ETag in If-None-Match is still current. "
                    "No body.",
                }
                _send(responses["304"], "ETag")
        if any(issubclass(throttle, UserRateThrottle) for throttle in self.view.throttle_classes):
            for response in responses.values():
                _send(response, *RATE_LIMIT_HEADERS)
        # For add_shared_responses, which removes it.
        operation["x-declared"] = declared(self.view, self.method)
        return operation


def _add_response_headers(operation: dict, view: dict) -> None:
    """The headers every answer, or every answer of a kind, carries
    (api/middleware.py, api/conditional.py, api/pagination.py)."""
    responses = operation["responses"]
    query = {p.get("name") for p in operation.get("parameters", []) if p.get("in") == "query"}
    counted = any(
        "RateLimit-Limit" in response.get("headers", {})
        for code, response in responses.items()
        if code.startswith("2")
    )
    for code, response in responses.items():
        if "$ref" in response:  # 414: the HTTP server's own answer
            continue
        _send(response, "X-Request-ID")
        # AutoSchema found the throttle on the view: its errors after the count report it too
        # (not an answer a view gives before the count: `x-before-throttle`, removed here).
        before_throttle = response.pop("x-before-throttle", False)
        if counted and code not in BEFORE_THE_THROTTLE and not before_throttle:
            _send(response, *RATE_LIMIT_HEADERS)
        if code in ("429", "503"):
            _send(response, "Retry-After")
    if "page" in query and "200" in responses:
        _send(responses["200"], "Link")
    if view["create"]:
        # Its success: 201 for a create, 200 for a POST that changes (a bulk edit).
        _send(responses.get("201") or responses["200"], "Idempotent-Replayed")


def add_shared_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    result["components"].setdefault("responses", {})["UriTooLong"] = URI_TOO_LONG
    result["components"]["headers"] = {
        name: {"description": description, "schema": schema}
        for name, (schema, description) in HEADERS.items()
    }
    for path, methods in result.get("paths", {}).items():
        for method, operation in methods.items():
            view = operation.pop("x-declared")
            responses = operation.setdefault("responses", {})
            for code in _codes_for(path, method, operation, view):
                responses.setdefault(code, _problem_response(code))
            responses.setdefault("414", {"$ref": "#/components/responses/UriTooLong"})
            for code, links in view["links"].items():
                responses[code]["links"] = links
            parameters = operation.setdefault("parameters", [])
            for parameter in parameters:
                if _empty_means_absent(parameter):
                    parameter["allowEmptyValue"] = True
                if _repeatable(parameter):
                    parameter["schema"]["maxItems"] = MAX_REPEATS
            _add_response_headers(operation, view)
            if view["create"]:
                key = _header(
                    "Idempotency-Key",
                    "Any unique string (e.g. a UUID). A retry with the same key and body "
                    "within 24 hours returns the first response instead of creating again, "
                    "once the checks a new request would pass now have passed (404 if the "
                    "caller can no longer see what was created, 403 if they may no longer "
                    "create it).",
                )
                key["schema"].update(minLength=1, maxLength=255)
                parameters.append(key)
    return result


# Path parameters whose name drf-spectacular cannot describe from a model field. Each name
# means one thing across the API (tests/test_schema.py).
PATH_PARAMETERS = {
    "project_key": "The project's key, e.g. `WEB`.",
    "issue_key": "The issue's key: its project's key and its number, e.g. `WEB-42`.",
    "username": "The user's username.",
    "webhook_id": "The webhook's id.",
    "delivery_id": "The webhook delivery's id.",
    "token_id": "The personal access token's id.",
    "export_id": "The export's id.",
    "import_id": "The import's id.",
    "attachment_id": "The attachment's id.",
    "comment_id": "A unique integer value identifying this comment.",
    "thread_id": "The notification thread's id.",
}


def enum_varname(value: str) -> str:
    """A generated client's name for an enum member: `in_progress` -> IN_PROGRESS,
    `-created_at` (descending) -> CREATED_AT_DESC."""
    name = re.sub(r"\W+", "_", value.removeprefix("-")).strip("_").upper() or "EMPTY"
    if value.startswith("-"):
        name += "_DESC"
    return f"VALUE_{name}" if name[0].isdigit() else name


def _enums(node):
    """Every schema with string enum members in `node`, at any depth."""
    if isinstance(node, list):
        for item in node:
            yield from _enums(item)
    elif isinstance(node, dict):
        if any(isinstance(value, str) for value in node.get("enum") or ()):
            yield node
        for value in node.values():
            yield from _enums(value)


def name_for_clients(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS): what generated clients
    name after the schema. Enum members get readable names (x-enum-varnames; without it
    `-created_at` is VALUE_3), and path parameters a description."""
    for schema in _enums(result):
        schema["x-enum-varnames"] = [enum_varname(v) for v in schema["enum"] if v is not None]
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and not parameter.get("description"):
                    parameter["description"] = PATH_PARAMETERS.get(parameter["name"], "")
    return result
