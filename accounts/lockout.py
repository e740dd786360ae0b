"""Limits on failed password checks, per client address and per account, shared by every
login (API, browsable API, admin) because the authentication backend applies them.

Failures are counted in the cache in fixed windows of LOGIN_FAILURE_WINDOW seconds, and
refused attempts are not counted, so a lockout ends with its window and the next window
starts from zero. Like the throttles, the limits fail open when the cache cannot be
reached (see SECURITY.md).
"""

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError

from api.clients import client_ip

logger = logging.getLogger(__name__)

# Replaceable in tests, as DRF's SimpleRateThrottle.timer.
timer = time.time


class LoginLockedOut(ValidationError):
    """Too many failed logins from this address or for this account.

    A ValidationError so that Django's login forms (admin, browsable API), which call
    authenticate() in clean(), show it as the form's error; the API answers 429.
    """

    def __init__(self, wait: int):
        self.wait = wait
        super().__init__(
            f"Too many failed attempts; try again in {wait} seconds.", code="locked_out"
        )


def _counters(request, login: str) -> tuple[dict[str, tuple[str, int]], int]:
    """The cache key and limit of the address's and the account's counters in the current
    window, and the seconds left in that window."""
    length = settings.LOGIN_FAILURE_WINDOW
    now = int(timer())
    window = now // length
    # Hashed: the key holds no email address, and any login fits in it.
    account = hashlib.sha256(login.casefold().encode()).hexdigest()
    counters = {
        "address": (
            f"login-failures:address:{client_ip(request)}:{window}",
            settings.LOGIN_FAILURES_PER_ADDRESS,
        ),
        "account": (
            f"login-failures:account:{account}:{window}",
            settings.LOGIN_FAILURES_PER_ACCOUNT,
        ),
    }
    return counters, length - now % length


def login_lockout_check(*, request, login: str) -> None:
    """Raise LoginLockedOut if the address or the account is at its limit.

    Called before the account is looked up or any password hashed, so the answer and its
    timing are the same whether or not the account exists, and whatever the password.
    """
    if request is None:
        return  # called from code (shell, tests), not by a client
    counters, seconds_left = _counters(request, login)
    try:
        counts = cache.get_many([key for key, _ in counters.values()])
    except Exception as e:  # the cache is down: check passwords unlimited
        logger.warning("Login limit cache unavailable, not limiting: %s", e)
        return
    if any(counts.get(key, 0) >= limit for key, limit in counters.values()):
        raise LoginLockedOut(wait=seconds_left)


def login_failure_record(*, request, login: str) -> None:
    """Count a failed password check against the address and the account."""
    if request is None:
        return
    counters, _ = _counters(request, login)
    for name, (key, limit) in counters.items():
        try:
            # The key outlives its window by less than one window; the next uses a new key.
            cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW)
            count = cache.incr(key)
        except Exception as e:
            logger.warning("Login limit cache unavailable, not counting: %s", e)
            return
        if count == limit:
            logger.warning(
                "Login failures reached the %s limit",
                name,
                extra={"client_ip": client_ip(request), "limit": name},
            )
