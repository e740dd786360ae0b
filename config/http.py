"""HTTP semantics careful clients rely on: ETags and preconditions, idempotent
creation, rate-limit headers, and a cap on request bodies."""

import hashlib
import json
import logging

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from config.exceptions import PROBLEM_CONTENT_TYPE, problem

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
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:40] + '"'


def _tags(header: str) -> set[str]:
    return {tag.strip() for tag in header.split(",") if tag.strip()}


class ConditionalMixin:
    """Detail reads carry a strong ETag (`If-None-Match` gives 304); writes that send
    `If-Match` proceed only if the resource still has that ETag (else 412). Without
    `If-Match` a write simply proceeds."""

    etag_actions = ("retrieve", "partial_update", "change_status")

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if (
            getattr(self, "action", None) in self.etag_actions
            and response.status_code == 200
            and isinstance(getattr(response, "data", None), dict)
        ):
            tag = etag_for(response.data)
            response["ETag"] = tag
            if request.method in ("GET", "HEAD") and tag in _tags(
                request.headers.get("If-None-Match", "")
            ):
                response.status_code = status.HTTP_304_NOT_MODIFIED
                response.data = None
        return response

    def check_if_match(self, current_representation) -> None:
        """Call with the row locked, before changing it."""
        expected = self.request.headers.get("If-Match")
        if expected is None or expected.strip() == "*":
            return
        if etag_for(current_representation) not in _tags(expected):
            raise PreconditionFailed()


class IdempotentCreateMixin:
    """`POST` with an `Idempotency-Key` header: a retry with the same key and body within
    24 hours gets the first response back instead of creating a duplicate; the same
    key with another body is a 422. Keys are per user; records live in the cache.

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
        return Response(
            record["data"], status=record["status"], headers={"Idempotent-Replayed": "true"}
        )


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
