"""HTTP semantics careful clients rely on: ETags and preconditions, idempotent
creation, rate-limit headers, cache control, and a cap on request bodies."""

import hashlib
import json
import logging

import orjson
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control, patch_vary_headers
from rest_framework import exceptions, status
from rest_framework.response import Response

from config.exceptions import PROBLEM_CONTENT_TYPE, invalid_input, not_found, problem
from config.unicode import INVALID_TEXT, INVALID_TEXT_CODE, request_fields_not_utf8

logger = logging.getLogger(__name__)

IDEMPOTENCY_TTL = 24 * 3600


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource has changed since you read it (If-Match did not match)."
    default_code = "precondition_failed"


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with a different request body."
    default_code = "idempotency_key_reused"


class IdempotencyKeyInProgress(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A request with this Idempotency-Key is still being processed; retry."
    default_code = "idempotency_key_in_progress"


def etag_for(data) -> str:
    """A strong ETag for a representation: the same data always gives the same tag."""
    # orjson: a page of 100 issues costs a tenth of a millisecond, several times less than json.
    canonical = orjson.dumps(
        data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str
    )
    return '"' + hashlib.sha256(canonical).hexdigest()[:40] + '"'


def _tags(header: str) -> set[str]:
    return {tag.strip() for tag in header.split(",") if tag.strip()}


def none_match(header: str, tag: str) -> bool:
    """Whether an If-None-Match header names `tag`. The comparison is weak (RFC 9110
    §13.1.2): a cache may hold `W/"x"` for our `"x"`; `*` names any current one."""
    tags = {t.removeprefix("W/") for t in _tags(header)}
    return "*" in tags or tag in tags


# The names ConditionalMixin's declarations use, for views that are not viewsets (`/me`).
METHOD_ACTIONS = {
    "GET": "retrieve",
    "HEAD": "retrieve",
    "PUT": "update",
    "PATCH": "partial_update",
    "DELETE": "destroy",
}


def action_of(view, method: str) -> str | None:
    """The viewset action `method` runs on `view`; on other views, its name by method."""
    if hasattr(view, "action"):
        return view.action
    return METHOD_ACTIONS.get(method.upper())


class ConditionalMixin:
    """Conditional requests (RFC 9110 §13), declared per action; config/schema.py documents
    exactly these declarations.

    The 200 answers of `etag_actions` carry a strong ETag over their JSON body (a list's:
    the whole page); a GET whose `If-None-Match` names it is a 304 with no body. The
    `if_match_actions` change the resource only if it still has the ETag `If-Match` names
    (else 412, nothing changed); without `If-Match` (or with `*`) they simply proceed.
    A write compares with the row locked (`locked_if_match`), so no change slips in between."""

    etag_actions = ("list", "retrieve", "update", "partial_update")
    if_match_actions = ("update", "partial_update", "destroy")

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        renderer = getattr(request, "accepted_renderer", None)
        if (
            action_of(self, request.method) in self.etag_actions
            and response.status_code == 200
            and getattr(response, "data", None) is not None
            # A strong tag names one representation, the JSON; the browsable API's HTML has none.
            and getattr(renderer, "format", None) == "json"
        ):
            tag = etag_for(response.data)
            response["ETag"] = tag
            if request.method in ("GET", "HEAD") and none_match(
                request.headers.get("If-None-Match", ""), tag
            ):
                response.status_code = status.HTTP_304_NOT_MODIFIED
                response.data = None
        return response

    def representation(self, instance):
        """What a GET of `instance` answers: the data its ETag is computed from."""
        return self.serializer_class(instance, context=self.get_serializer_context()).data

    def check_if_match(self, instance) -> None:
        """412 unless `instance` (its row locked, not yet changed) still has the ETag
        `If-Match` names. Only in `if_match_actions`, which the schema documents."""
        if action_of(self, self.request.method) not in self.if_match_actions:
            return
        expected = self.request.headers.get("If-Match")
        if expected is None or expected.strip() == "*":
            return
        # Strong comparison (RFC 9110 §13.1.1): a weak W/ tag never matches.
        if etag_for(self.representation(instance)) not in _tags(expected):
            raise PreconditionFailed()

    def locked_if_match(self, instance):
        """`instance` read again with its row locked until the transaction ends, if it still
        has the ETag `If-Match` names (else 412). Call it in the transaction of the write."""
        locked = self.get_queryset().select_for_update(of=("self",)).get(pk=instance.pk)
        self.check_if_match(locked)
        return locked


class IdempotentCreateMixin:
    """`POST` with an `Idempotency-Key` header: a retry with the same key and body within
    24 hours gets the first response back instead of creating a duplicate; the same
    key with another body is a 422. Keys are per user; records live in the cache. A replay
    is only for a caller who may still see what was created (`check_replay`).

    If the cache cannot be reached the request is served as if it had no key (availability
    over exactly-once: a retry during the outage may create a duplicate)."""

    def create(self, request, *args, **kwargs):
        create = super().create
        return self.create_once(request, lambda: create(request, *args, **kwargs))

    def create_once(self, request, create):
        """Call `create()` (which returns the response) at most once per Idempotency-Key;
        a view that writes its own `create` calls this from it."""
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return create()
        if not 1 <= len(key) <= 255:
            raise exceptions.ValidationError({"Idempotency-Key": "1 to 255 characters."})
        digest = hashlib.sha256(f"{request.user.pk}:{key}".encode()).hexdigest()
        record_key, lock_key = f"idem:{digest}", f"idem:{digest}:lock"
        fingerprint = hashlib.sha256(
            f"{request.method} {request.path} ".encode()
            + json.dumps(request.data, sort_keys=True, default=str).encode()
        ).hexdigest()

        try:
            record = cache.get(record_key)
            locked = record is None and cache.add(lock_key, 1, timeout=60)
        except Exception:
            logger.warning(
                "Idempotency cache unavailable; creating without the key", exc_info=True
            )
            return create()
        if record is None:
            if not locked:
                raise IdempotencyKeyInProgress()
            try:
                response = create()
                if 200 <= response.status_code < 300:
                    record = {
                        "fingerprint": fingerprint,
                        "status": response.status_code,
                        "data": response.data,
                    }
                    # robust: the row is committed; a lost cache write must not turn it into a 500
                    transaction.on_commit(
                        lambda: cache.set(record_key, record, timeout=IDEMPOTENCY_TTL),
                        robust=True,
                    )
                return response
            finally:
                try:
                    cache.delete(lock_key)
                except Exception:  # the lock expires on its own
                    logger.warning("Could not release idempotency lock", exc_info=True)
        if record["fingerprint"] != fingerprint:
            raise IdempotencyKeyReused()
        self.check_replay(record["data"])
        return Response(
            record["data"], status=record["status"], headers={"Idempotent-Replayed": "true"}
        )

    def check_replay(self, data) -> None:
        """404 unless the caller may still see the object the first response created (by
        its `id`), 403 unless they may still create it; otherwise the replay goes ahead.

        A replay is the same request again, so it passes the checks that request would
        pass now, through the view's own queryset (visibility) and permissions, and only
        then answers the stored outcome instead of writing. A member removed from a private
        project gets the 404 of any hidden object, not the issue they made there; a deleted
        object is gone, a 404 too. A caller who still sees it but lost the right to create
        (demoted, project archived) gets the 403 the nested URLs' permission checks already
        give before a replay is looked up, whichever URL the create was sent to."""
        created = get_object_or_404(self.get_queryset(), pk=data["id"])
        self.check_object_permissions(self.request, created)


class RequestBodyLimitMiddleware:
    """Refuse bodies over REQUEST_BODY_MAX_BYTES with 413 before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.REQUEST_BODY_MAX_BYTES
        if length > limit:
            body = problem(
                413,
                f"The request body is {length} bytes; the limit is {limit}.",
                "request_too_large",
                request.path,
            )
            return JsonResponse(body, status=413, content_type=PROBLEM_CONTENT_TYPE)
        return self.get_response(request)


class NulInPathMiddleware:
    """A URL path with a NUL character names nothing here (no key, username or id holds
    one): 404 before any view runs. PostgreSQL refuses NUL in text, so a lookup was a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            body = problem(404, "Not found.", "not_found", request.path.replace("\x00", ""))
            return JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE)
        return self.get_response(request)


class Utf8Middleware:
    """A query string, or a header the application reads, that is not UTF-8 is a 400 naming
    each parameter or header (config.unicode), before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        invalid = request_fields_not_utf8(request)
        if invalid:
            errors = [
                {"field": name, "message": INVALID_TEXT, "code": INVALID_TEXT_CODE}
                for name in invalid
            ]
            body = invalid_input(errors, request.path)
            return JsonResponse(body, status=400, content_type=PROBLEM_CONTENT_TYPE)
        return self.get_response(request)


class ApiNotFoundMiddleware:
    """A URL under /api/ that names nothing is a problem+json 404 (saying which URL was meant
    if it differs by a trailing slash), in DEBUG too: there Django answers its HTML page and
    does not call handler404. Outside CommonMiddleware, so APPEND_SLASH still redirects
    `GET /api/v1/docs` to the docs page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        path = request.path_info
        unresolved = response.status_code == 404 and request.resolver_match is None
        if unresolved and (path == "/api" or path.startswith("/api/")):
            return not_found(request)
        return response


class RateLimitHeadersMiddleware:
    """Report the caller's general API rate (RateLimit-Limit, -Remaining, -Reset in
    seconds) on every response the throttle counted."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        state = getattr(request, "ratelimit", None)
        if state is not None:
            limit, remaining, reset = state
            response["RateLimit-Limit"] = str(limit)
            response["RateLimit-Remaining"] = str(remaining)
            response["RateLimit-Reset"] = str(reset)
        return response


# The API's pages that are the same for every caller (config/urls.py's names).
SHARED_API_PAGES = frozenset({"schema", "docs", "redoc"})


class PrivateCacheMiddleware:
    """API answers depend on the caller (Authorization, or the session's Cookie) and on
    Accept (JSON, or the browsable API's HTML). `Cache-Control: private, no-cache` keeps
    them out of shared caches and has a browser's cache revalidate (If-None-Match) before
    reusing one; `Vary` names what they depend on. An answer that sets its own
    Cache-Control keeps it (the session login page's never-cache); the docs and the
    schema are the same for everyone, and nothing outside /api/ is touched (static files,
    probes, the JWKS)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = request.resolver_match
        if (
            request.path_info.startswith("/api/")
            and not response.has_header("Cache-Control")
            and (match is None or match.url_name not in SHARED_API_PAGES)
        ):
            patch_cache_control(response, private=True, no_cache=True)
            patch_vary_headers(response, ("Accept", "Authorization", "Cookie"))
        return response
