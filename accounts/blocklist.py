"""What authenticating an access token asks Redis: is it revoked, and who is its user.

The blocklist: the database is the record, Redis answers the hot path.

With Redis, every revoked `jti` is cached until its token expires, and a
marker key says the cache holds the whole list; if the marker is gone (Redis
restarted or evicted), the list is loaded again from the database. The marker
also expires every RESYNC_SECONDS, so a revocation whose cache write was lost
(Redis briefly unreachable, a key evicted) is picked up within that time: one
query a minute for the whole fleet. If Redis cannot be reached, the database
answers, so a revoked token stays revoked.

The token's user: the same round trip also fetches a copy of the user row, cached for
AUTH_USER_CACHE_SECONDS (so an authenticated request needs no SQL query of its own).
Every save or delete of a user drops the copy once its transaction commits; a change that
bypasses the model (a queryset update, a restore) shows within AUTH_USER_CACHE_SECONDS.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from .models import RevokedAccessToken, User

logger = logging.getLogger(__name__)

KEY_PREFIX = "jwt:revoked:"
LOADED_MARKER = "jwt:revoked:__loaded__"
RESYNC_SECONDS = 60
USER_KEY_PREFIX = "jwt:user:"


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
    return access_token_lookup(jti, user_id=None)[0]


def access_token_lookup(jti: str, user_id) -> tuple[bool, User | None]:
    """Whether the access token `jti` is revoked, and its user if the cache holds a copy
    (else None): one round trip to Redis. Without Redis, the database answers the first."""
    if settings.TOKEN_BLOCKLIST_USE_CACHE:
        user_key = None
        if user_id is not None and settings.AUTH_USER_CACHE_SECONDS:
            user_key = USER_KEY_PREFIX + str(user_id)
        try:
            found = cache.get_many([KEY_PREFIX + jti, LOADED_MARKER, *filter(None, [user_key])])
            if LOADED_MARKER in found:
                return KEY_PREFIX + jti in found, found.get(user_key)
            return jti in _load_cache(), None
        except Exception:
            logger.warning("Token blocklist cache unavailable; using the database")
    return RevokedAccessToken.objects.filter(jti=jti).exists(), None


def remember_user(user: User) -> None:
    """Cache a copy of `user` (just read from the database) for the next requests."""
    if settings.TOKEN_BLOCKLIST_USE_CACHE and settings.AUTH_USER_CACHE_SECONDS:
        try:
            cache.set(USER_KEY_PREFIX + str(user.pk), user, settings.AUTH_USER_CACHE_SECONDS)
        except Exception:  # the next request reads the database again
            logger.warning("Could not cache user %s", user.pk)


def forget_user(user_id) -> None:
    if settings.TOKEN_BLOCKLIST_USE_CACHE and settings.AUTH_USER_CACHE_SECONDS:
        try:
            cache.delete(USER_KEY_PREFIX + str(user_id))
        except Exception:  # the copy expires within AUTH_USER_CACHE_SECONDS
            logger.warning("Could not drop the cached copy of user %s", user_id, exc_info=True)


@receiver([post_save, post_delete], sender=User, dispatch_uid="accounts.forget_user")
def _forget_changed_user(sender, instance, **kwargs):
    # Now, so this transaction's own reads see the change, and again after the commit: in
    # between, a concurrent request could cache the row as it was before.
    user_id = instance.pk  # a delete clears instance.pk before the commit
    forget_user(user_id)
    transaction.on_commit(lambda: forget_user(user_id), robust=True)
