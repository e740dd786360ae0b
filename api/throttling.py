"""Throttles. They count in the cache (Redis in production); if the cache cannot be
reached they let requests through rather than fail them (availability over limits;
see SECURITY.md)."""

import logging

from django.core.cache import cache
from rest_framework import throttling
from rest_framework.settings import api_settings

from api.clients import client_ip

logger = logging.getLogger(__name__)

# DRF's sliding log, kept in Redis as a list of request times (newest first) and checked
# and updated by Redis itself: one round trip per request, where DRF's reads the whole
# pickled history and writes it back (two round trips, and a history of THROTTLE_USER's
# 5,000 times an hour pickled twice per request). The same answers: the times older than
# the window are dropped, the request is refused when the window holds `limit` already
# (and not recorded), else recorded. Returns [allowed, requests in the window, the
# oldest time in it].
SLIDING_LOG = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
while true do
  local oldest = redis.call('LINDEX', KEYS[1], -1)
  if not oldest or tonumber(oldest) > now - window then break end
  redis.call('RPOP', KEYS[1])
end
local count = redis.call('LLEN', KEYS[1])
if count >= limit then
  return {0, count, redis.call('LINDEX', KEYS[1], -1)}
end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(window))
return {1, count + 1, redis.call('LINDEX', KEYS[1], -1)}
"""


def _redis():
    """The cache's Redis client when the cache is Redis (django-redis), else None."""
    client = getattr(cache, "client", None)
    return client.get_client(write=True) if hasattr(client, "get_client") else None


class FailOpenMixin:
    def get_rate(self):
        # Read at request time so changed settings apply without a restart.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_ident(self, request):
        # The service's one notion of the client's address (NUM_PROXIES), not DRF's copy.
        return client_ip(request)

    def allow_request(self, request, view):
        try:
            redis = _redis()
            if redis is None or self.rate is None:
                return super().allow_request(request, view)
            return self._allow_in_redis(redis, request, view)
        except Exception as e:  # the cache is down: serve the request unthrottled
            # One line per request, no traceback: an outage would otherwise flood the logs.
            logger.warning("Throttle cache unavailable, not throttling: %s", e)
            return True

    def _allow_in_redis(self, redis, request, view) -> bool:
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        # Beside DRF's key, not on it: a history DRF pickled there is another type.
        key = cache.make_key(f"{self.key}:log")
        allowed, count, oldest = redis.eval(
            SLIDING_LOG, 1, key, repr(self.now), self.duration, self.num_requests
        )
        # What DRF's wait() and the RateLimit headers read: as many entries as the window
        # holds, the oldest last.
        self.history = [self.now] * (int(count) - 1) + [float(oldest)] if count else []
        return bool(allowed)


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
