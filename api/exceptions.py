"""One error format for the whole API: RFC 9457 problem details.

Every 4xx/5xx JSON body is
    {"type", "title", "status", "detail", "code", "instance"}
plus, for invalid input, "errors": [{"field", "message", "code"}].
Services raise the domain's own errors (api/errors.py) and Django's ValidationError;
this handler maps them to HTTP.
"""

import logging
import sys
from http import HTTPStatus

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.urls import is_valid_path
from rest_framework import exceptions, status
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from api.errors import Conflict, DomainError, NotAllowed, NotFound, PreconditionFailed
from api.unicode import printable

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
# The errors of a database that cannot be reached (down, restarting, connection lost).
DATABASE_ERRORS = (OperationalError, InterfaceError)


class DatabaseUnavailable(exceptions.APIException):
    """The database cannot be reached now; a retry soon may succeed."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable; retry shortly."
    default_code = "database_unavailable"
    wait = 5  # seconds, sent as Retry-After


def _printable(value):
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(key): _printable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(item) for item in value]
    return value


def problem(status_code: int, detail: str, code: str, instance: str = "", **extra) -> dict:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": str(detail),
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    # Whatever an error echoes from the request, its answer must render (as UTF-8).
    return _printable(body)


def invalid_input(errors: list[dict], instance: str = "") -> dict:
    """The 400 problem for invalid input: `errors` as [{field, message, code}]."""
    fields = sorted({e["field"] for e in errors if e["field"] != "non_field_errors"})
    if fields:
        detail = "Invalid input in: " + ", ".join(fields) + "."
    else:
        detail = errors[0]["message"] if errors else "Invalid input."
    return problem(400, detail, "invalid", instance, errors=errors)


def _flatten(detail, prefix="") -> list[dict]:
    """Nested serializer errors as a flat list naming each field by its path."""
    if isinstance(detail, dict):
        return [
            error
            for key, value in detail.items()
            for error in _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        ]
    if isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail) for item in detail):
            return [
                {"field": prefix or "non_field_errors", "message": str(item), "code": item.code}
                for item in detail
            ]
        return [
            error
            for index, item in enumerate(detail)
            for error in _flatten(item, f"{prefix}.{index}" if prefix else str(index))
        ]
    return [{"field": prefix or "non_field_errors", "message": str(detail), "code": detail.code}]


# The status of each kind of domain error; a kind not named here is a 400.
DOMAIN_STATUS = {
    NotFound: status.HTTP_404_NOT_FOUND,
    NotAllowed: status.HTTP_403_FORBIDDEN,
    Conflict: status.HTTP_409_CONFLICT,
    PreconditionFailed: status.HTTP_412_PRECONDITION_FAILED,
}


def _from_domain(exc: DomainError) -> exceptions.APIException:
    api = exceptions.APIException(exc.message, code=exc.code)
    api.status_code = next(
        (code for kind, code in DOMAIN_STATUS.items() if isinstance(exc, kind)),
        status.HTTP_400_BAD_REQUEST,
    )
    api.extra = exc.extra
    return api


def _as_api_exception(exc):
    if isinstance(exc, DomainError):
        return _from_domain(exc)
    if isinstance(exc, DATABASE_ERRORS):
        logger.error("Database unavailable", exc_info=exc)
        return DatabaseUnavailable()
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(as_serializer_error(exc))
    return exc


def described(exc) -> tuple[int, list[dict]]:
    """A refusal a service raised, as the API would state it: the status, and what is wrong
    as [{field, message, code}] (`field` None where the refusal names none). For answers
    that report several outcomes at once, such as a bulk edit's result per issue."""
    exc = _as_api_exception(exc)
    if isinstance(exc, exceptions.ValidationError):
        return exc.status_code, _flatten(exc.detail)
    extra = getattr(exc, "extra", {}) or {}
    error = {"field": extra.get("field"), "message": str(exc.detail), "code": exc.get_codes()}
    return exc.status_code, [error]


def problem_exception_handler(exc, context):
    exc = _as_api_exception(exc)
    response = exception_handler(exc, context)  # sets WWW-Authenticate and Retry-After
    if response is None:
        return None  # not an API error: Django's handler500 answers
    request = context.get("request")
    instance = request.path if request is not None else ""

    if isinstance(exc, exceptions.ValidationError):
        body = invalid_input(_flatten(exc.detail), instance)
    else:
        detail, code = exc.detail, exc.get_codes()
        if isinstance(detail, dict):  # e.g. simplejwt's {"detail", "code", "messages"}
            code = detail.get("code", exc.default_code)
            detail = detail.get("detail", exc.default_detail)
        extra = getattr(exc, "extra", {}) or {}
        body = problem(response.status_code, detail, str(code), instance, **extra)

    response.data = body
    renderer = getattr(request, "accepted_renderer", None) if request is not None else None
    if renderer is None or renderer.format == "json":
        response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _json_problem(request, status_code: int, detail: str, code: str, headers=None) -> JsonResponse:
    return JsonResponse(
        problem(status_code, detail, code, request.path),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def bad_request(request, exception=None):
    return _json_problem(request, 400, "The request could not be understood.", "bad_request")


def permission_denied(request, exception=None):
    return _json_problem(
        request, 403, "You do not have permission to perform this action.", "permission_denied"
    )


def not_found(request, exception=None):
    detail = "Not found."
    # A URL that names nothing but would with (or without) a trailing slash says which.
    path = request.path_info
    other = path.rstrip("/") if path.endswith("/") else f"{path}/"
    urlconf = getattr(request, "urlconf", None)
    if request.resolver_match is None and other and is_valid_path(other, urlconf):
        script_prefix = request.path[: len(request.path) - len(path)]
        detail = f"Not found. Did you mean {script_prefix}{other}?"
    return _json_problem(request, 404, detail, "not_found")


def server_error(request):
    # Django calls this while it handles the exception, which can still be inspected:
    # outside DRF views (the admin, session pages) a lost database is a 503 as well.
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        retry = {"Retry-After": str(DatabaseUnavailable.wait)}
        return _json_problem(
            request, 503, DatabaseUnavailable.default_detail, "database_unavailable", retry
        )
    return _json_problem(request, 500, "An unexpected error occurred.", "server_error")
