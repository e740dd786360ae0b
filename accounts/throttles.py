from rest_framework.throttling import SimpleRateThrottle

from api.throttling import FailOpenMixin


class ClientRateThrottle(FailOpenMixin, SimpleRateThrottle):
    """Limits one client address on one auth endpoint; the rate is the setting for `scope`."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginThrottle(ClientRateThrottle):
    scope = "login"


class RegisterThrottle(ClientRateThrottle):
    scope = "register"


class RefreshThrottle(ClientRateThrottle):
    scope = "refresh"
