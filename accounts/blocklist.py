"""The access-token blocklist: the database is the record, Redis answers the hot path.

With Redis, every revoked `jti` is cached until its token expires, and a
marker key says the cache holds the whole list; if the marker is gone (Redis
restarted or evicted), the list is loaded again from the database. The marker
also expires every RESYNC_SECONDS, so a revocation whose cache write was lost
(Redis briefly unreachable, a key evicted) is picked up within that time: one
query a minute for the whole fleet. If Redis cannot be reached, the database
answers, so a revoked token stays revoked.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from .models import RevokedAccessToken

logger = logging.getLogger(__name__)

KEY_PREFIX = "jwt:revoked:"
LOADED_MARKER = "jwt:revoked:__loaded__"
RESYNC_SECONDS = 60


def _ttl(expires_at: datetime) -> int:
    return max(1, int((expires_at - timezone.now()).total_seconds()) + 1)


def _load_cache() -> set[str]:
    """Copy every unexpired revocation into the cache; return their ids."""
    now = timezone.now()
    rows = RevokedAccessToken.objects.filter(expires_at__gt=now).values_list("jti", "expires_at")
    for jti, expires_at in rows:
        cache.set(KEY_PREFIX + jti, 1, timeout=_ttl(expires_at))
    cache.set(LOADED_MARKER, 1, timeout=RESYNC_SECONDS)
    return {jti for jti, _ in rows}


def access_token_revoke(*, jti: str, expires_at: datetime, user=None) -> None:
    RevokedAccessToken.objects.get_or_create(
        jti=jti, defaults={"expires_at": expires_at, "user": user}
    )
    if settings.TOKEN_BLOCKLIST_USE_CACHE:
        try:
            cache.set(KEY_PREFIX + jti, 1, timeout=_ttl(expires_at))
        except Exception:  # the database row already refuses the token
            logger.warning("Could not cache revoked token %s", jti, exc_info=True)


def access_token_is_revoked(jti: str) -> bool:
    if settings.TOKEN_BLOCKLIST_USE_CACHE:
        try:
            found = cache.get_many([KEY_PREFIX + jti, LOADED_MARKER])
            if LOADED_MARKER in found:
                return KEY_PREFIX + jti in found
            return jti in _load_cache()
        except Exception:
            logger.warning("Token blocklist cache unavailable; using the database")
    return RevokedAccessToken.objects.filter(jti=jti).exists()
