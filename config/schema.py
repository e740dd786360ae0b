"""OpenAPI additions every operation shares: the problem-details error responses and
the conditional/idempotency headers, added in one place instead of on each view."""

from config.filters import MAX_REPEATS

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
}

# A URL longer than the HTTP server's request-line limit never reaches the application.
URI_TOO_LONG = {
    "description": "The URL is longer than the HTTP server accepts (about 4 KB); it answers "
    "itself, with an HTML page.",
    "content": {"text/html": {"schema": {"type": "string"}}},
}

PUBLIC_PATHS = {
    "/api/v1/",
    "/api/v1/auth/register",
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/.well-known/jwks.json",
}
# Public endpoints that still check credentials (a password, a refresh token): 401.
CREDENTIAL_PATHS = {"/api/v1/auth/login", "/api/v1/auth/refresh"}
CREATE_PATHS = {
    "/api/v1/projects",
    "/api/v1/issues",
    "/api/v1/projects/{project_key}/issues",
    "/api/v1/issues/{issue_key}/comments",
}


def _links_to(operation_ids: list[str], **parameters: str) -> dict:
    return {op: {"operationId": op, "parameters": parameters} for op in operation_ids}


_PROJECT = ["projects_retrieve", "projects_partial_update", "projects_destroy"]
_PROJECT += ["projects_archive_create", "projects_unarchive_create"]
_PROJECT += ["projects_permissions_me_retrieve"]
_IN_PROJECT = ["projects_issues_list", "projects_issues_create", "projects_labels_list"]
_IN_PROJECT += ["projects_labels_create", "projects_members_list", "projects_members_create"]
_ISSUE = ["issues_retrieve", "issues_partial_update", "issues_destroy", "issues_status_create"]
_ISSUE += ["issues_transitions_list"]
_IN_ISSUE = ["issues_comments_list", "issues_comments_create", "issues_events_list"]
_ISSUE_LINKS = {
    **_links_to(_ISSUE, key="$response.body#/key"),
    **_links_to(_IN_ISSUE, issue_key="$response.body#/key"),
}
# OpenAPI links: what a client can do next with the object an operation returned
# (operationId -> {status: links}). Stateful fuzzing follows them too.
LINKS = {
    "projects_create": {
        "201": {
            **_links_to(_PROJECT, key="$response.body#/key"),
            **_links_to(_IN_PROJECT, project_key="$response.body#/key"),
        }
    },
    "issues_create": {"201": _ISSUE_LINKS},
    "projects_issues_create": {"201": _ISSUE_LINKS},
    "issues_status_create": {"200": _ISSUE_LINKS},
    "issues_comments_create": {
        "201": _links_to(
            ["comments_retrieve", "comments_partial_update", "comments_destroy"],
            id="$response.body#/id",
        )
    },
    "projects_labels_create": {
        "201": _links_to(
            [
                "projects_labels_retrieve",
                "projects_labels_partial_update",
                "projects_labels_destroy",
            ],
            project_key="$request.path.project_key",
            id="$response.body#/id",
        )
    },
    "projects_members_create": {
        "201": _links_to(
            [
                "projects_members_retrieve",
                "projects_members_partial_update",
                "projects_members_destroy",
            ],
            project_key="$request.path.project_key",
            username="$response.body#/user/username",
        )
    },
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


def _codes_for(path: str, method: str, operation: dict) -> list[str]:
    codes = ["429"]
    if path not in PUBLIC_PATHS:
        codes += ["401", "403"]
    elif path in CREDENTIAL_PATHS:
        codes.append("401")
    query = {p.get("name") for p in operation.get("parameters", []) if p.get("in") == "query"}
    if "{" in path or "page" in query:  # a page past the last one is a 404 too
        codes.append("404")
    if method in ("post", "put", "patch") or any(
        p.get("in") == "query" for p in operation.get("parameters", [])
    ):
        codes.append("400")
    elif method == "delete" and "/members/" in path:
        codes.append("400")  # removing a project's last owner
    if method in ("post", "put", "patch"):
        codes.append("413")
    if method == "patch" or path.endswith("/status"):
        codes.append("412")
    if path.endswith("/status") or "/members" in path:
        codes.append("409")
    if method == "post" and path in CREATE_PATHS:
        codes += ["409", "422"]  # the Idempotency-Key is in use by a running request, or reused
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


def add_shared_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS)."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    result["components"].setdefault("responses", {})["UriTooLong"] = URI_TOO_LONG
    for path, methods in result.get("paths", {}).items():
        for method, operation in methods.items():
            responses = operation.setdefault("responses", {})
            for code in _codes_for(path, method, operation):
                responses.setdefault(code, _problem_response(code))
            responses.setdefault("414", {"$ref": "#/components/responses/UriTooLong"})
            for code, links in LINKS.get(operation.get("operationId"), {}).items():
                responses[code]["links"] = links
            parameters = operation.setdefault("parameters", [])
            for parameter in parameters:
                if _empty_means_absent(parameter):
                    parameter["allowEmptyValue"] = True
                if _repeatable(parameter):
                    parameter["schema"]["maxItems"] = MAX_REPEATS
            if method == "patch" or path.endswith("/status"):
                parameters.append(
                    _header(
                        "If-Match",
                        "An ETag from a previous read: the change is made only if the resource "
                        "still has it (else 412). Without it the change is made regardless.",
                    )
                )
            if method == "get" and "{" in path and "200" in responses:
                parameters.append(
                    _header("If-None-Match", "An ETag from a previous read: 304 if unchanged.")
                )
            if method == "post" and path in CREATE_PATHS:
                key = _header(
                    "Idempotency-Key",
                    "Any unique string (e.g. a UUID). A retry with the same key and body "
                    "within 24 hours returns the first response instead of creating again.",
                )
                key["schema"].update(minLength=1, maxLength=255)
                parameters.append(key)
    return result
