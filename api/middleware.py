"""The API's middleware: request ids and probes answered by pod IP (for running behind an
ingress), a cap on request bodies, NUL in paths, UTF-8 query strings and headers, JSON 404s
under /api/, rate-limit headers, and private caching of API answers."""

import re
import uuid

from django.conf import settings
from django.http import JsonResponse
from django.urls import resolve
from django.utils.cache import patch_cache_control, patch_vary_headers

from api.exceptions import PROBLEM_CONTENT_TYPE, invalid_input, not_found, problem
from api.unicode import INVALID_TEXT, INVALID_TEXT_CODE, request_fields_not_utf8
from config.logging import request_id

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from a client: enough for UUIDs and the ingress's hex ids, nothing that
# could forge a log line or a header.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# Paths the kubelet and Prometheus call inside the cluster (/metrics asks for its token
# itself: api/metrics.py).
INTERNAL_PATHS = frozenset({"/health", "/ready", "/metrics"})


class RequestIdMiddleware:
    """Tags each request with the client's X-Request-ID (or a new one), for logs and the reply."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request.request_id = incoming if VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


class InternalEndpointsMiddleware:
    """Serves probes and the metrics scrape ahead of host validation and HTTPS redirects.

    The kubelet and Prometheus address a pod by its IP, which is not in ALLOWED_HOSTS
    (CommonMiddleware would answer 400), and they speak plain HTTP.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info not in INTERNAL_PATHS:
            return self.get_response(request)
        match = resolve(request.path_info)
        return match.func(request, *match.args, **match.kwargs)


class RequestBodyLimitMiddleware:
    """Refuse a body larger than its view takes with 413, before anything reads it.

    The limit is REQUEST_BODY_MAX_BYTES unless the view declares its own for the request:
    a class method `request_body_limit(request, action) -> int | None` on the view's class
    (uploads take a file's size; None keeps the setting). Checked once the URL is resolved
    (`process_view`), so the view, not a table of paths here, says what it takes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = self.limit_for(request, view_func)
        if length > limit:
            body = problem(
                413,
                f"The request body is {length} bytes; the limit is {limit}.",
                "request_too_large",
                request.path,
            )
            return JsonResponse(body, status=413, content_type=PROBLEM_CONTENT_TYPE)
        return None

    @staticmethod
    def limit_for(request, view_func) -> int:
        declared = getattr(getattr(view_func, "cls", None), "request_body_limit", None)
        if declared is not None:
            # A viewset's function knows which action each method runs.
            action = (getattr(view_func, "actions", None) or {}).get(request.method.lower())
            limit = declared(request, action)
            if limit is not None:
                return limit
        return settings.REQUEST_BODY_MAX_BYTES


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
    each parameter or header (api.unicode), before anything reads them."""

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


# The API's pages that are the same for every caller (api/urls.py).
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
