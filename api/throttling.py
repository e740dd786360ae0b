"""Throttles. They count in the cache (Redis in production); if the cache cannot be
reached they let requests through rather than fail them (availability over limits;
see SECURITY.md)."""

import logging

from rest_framework import throttling
from rest_framework.settings import api_settings

from api.clients import client_ip

logger = logging.getLogger(__name__)


class FailOpenMixin:
    def get_rate(self):
        # Read at request time so changed settings apply without a restart.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_ident(self, request):
        # The service's one notion of the client's address (NUM_PROXIES), not DRF's copy.
        return client_ip(request)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception as e:  # the cache is down: serve the request unthrottled
            # One line per request, no traceback: an outage would otherwise flood the logs.
            logger.warning("Throttle cache unavailable, not throttling: %s", e)
            return True


class UserRateThrottle(FailOpenMixin, throttling.UserRateThrottle):
    """The general API limit per caller (THROTTLE_USER), reported in RateLimit-* headers."""

    scope = "user"

    def get_cache_key(self, request, view):
        # Each personal access token has a budget of its own, so one busy script does not
        # starve its user's other scripts and sessions (`throttle_ident`: accounts.models).
        ident = getattr(request.auth, "throttle_ident", None)
        if ident is not None:
            return self.cache_format % {"scope": self.scope, "ident": ident}
        return super().get_cache_key(request, view)

    def allow_request(self, request, view):
        allowed = super().allow_request(request, view)
        history = getattr(self, "history", None)
        if self.rate is not None and history is not None:
            remaining = max(0, self.num_requests - len(history))
            reset = int(self.duration - (self.now - history[-1])) if history else self.duration
            request._request.ratelimit = (self.num_requests, remaining, max(reset, 0))
        return allowed
