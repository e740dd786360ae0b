"""Middleware for running behind an ingress: request ids, and probes answered by pod IP."""

import re
import uuid

from django.urls import resolve

from config.logging import request_id

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from a client: enough for UUIDs and the ingress's hex ids, nothing that
# could forge a log line or a header.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# Paths the kubelet and Prometheus call inside the cluster (/metrics asks for its token
# itself: config/metrics.py).
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
