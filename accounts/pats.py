"""Personal access tokens: scopes, the secret's format, and looking tokens up (creating and
revoking them are services: accounts.services.pat_create, pat_revoke).

The secret is `trk_` (so secret scanners can recognise a leaked token), 32 random base62
characters (190 bits) and a 6-character CRC32 checksum of them, as GitHub's tokens are
built: a typo is refused without a lookup, and scanners can tell a real token from text
that merely looks like one. Only its SHA-256 is stored. A slow password hash (Argon2)
defends guessable secrets against a stolen table; 190 random bits are not guessable, so a
fast hash is as safe and lets every request find its token by an indexed equality.

Authentication asks the shared cache (Redis) in one round trip, as a JWT's does: the
token's entry (keyed by its hash, with a copy of its user, for AUTH_USER_CACHE_SECONDS)
and a marker saying its last use was recorded in the last LAST_USED_EVERY seconds.
Revoking writes a "revoked" marker over the entry, which a concurrent lookup cannot
overwrite (entries are added, never replaced), so every worker refuses the token on its
next request; a save or delete of the user drops its tokens' entries, as it drops the
user's cached copy (blocklist.py). Expiry is checked against the cached `expires_at`.
Without Redis, the database answers.
"""

import binascii
import hashlib
import logging
import secrets
import string
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver
from django.utils import timezone

from .callers import as_caller
from .models import (
    PersonalAccessToken,
    TokenEvent,
    User,
    scopes_effective,  # noqa: F401 (with SCOPES, what a token may hold)
)

logger = logging.getLogger(__name__)

PREFIX = "trk_"
_ALPHABET = string.digits + string.ascii_letters
_RANDOM_LENGTH = 32
_CHECKSUM_LENGTH = 6
VISIBLE_LENGTH = len(PREFIX) + 6

# Every scope and what it allows (README, "Personal access tokens and bots"); inside a
# project, the rights table (projects/rights.py) names the scope of each action.
SCOPES = {
    "read": "Read what the user can see: projects, issues, comments, history, members, /me.",
    "issues:write": "Create, edit, move and delete issues; manage labels.",
    "comments:write": "Write, edit and delete comments.",
    "attachments:write": "Attach files to issues and comments; delete them.",
    "relations:write": "Link issues: add and remove blockers, duplicates, related issues "
    "and sub-issues (and set an issue's parent).",
    "issues:import": "Import issues, with their comments and labels, into a project.",
    "projects:admin": "Create projects; change their settings, archive and delete them.",
    "members:write": "Add, change and remove members; create bots and their tokens.",
    "webhooks:admin": "Manage a project's webhooks.",
    "account:write": "Change the user's display name (never the password or email).",
    "tokens:write": "List, create and revoke the user's personal access tokens.",
    # Notifications (notifications/): the inbox, marking it, mail settings, watching.
    "notifications": "Read the user's notifications and mark them read or done; change "
    "notification settings; watch and unwatch issues and projects.",
}


CACHE_PREFIX = "pat:"
USED_PREFIX = "pat:used:"
REVOKED = "revoked"
LAST_USED_EVERY = 60  # seconds between writes of last_used_at


def _base62(number: int, length: int) -> str:
    digits = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        digits.append(_ALPHABET[digit])
    return "".join(reversed(digits))


def _checksum(random_part: str) -> str:
    return _base62(binascii.crc32(random_part.encode()), _CHECKSUM_LENGTH)


def secret_generate() -> str:
    random_part = "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_LENGTH))
    return PREFIX + random_part + _checksum(random_part)


def secret_is_well_formed(secret: str) -> bool:
    body = secret[len(PREFIX) :]
    if not secret.startswith(PREFIX) or len(body) != _RANDOM_LENGTH + _CHECKSUM_LENGTH:
        return False
    random_part, checksum = body[:_RANDOM_LENGTH], body[_RANDOM_LENGTH:]
    return all(c in _ALPHABET for c in body) and _checksum(random_part) == checksum


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def scope_granted(caller, scope: str) -> bool:
    """Whether the caller's credentials carry `scope`: a Caller's token (as
    `request.auth`), those it acts with (scopes_effective); passwords, sessions, JWTs and a
    plain user (the admin, commands) every scope."""
    return as_caller(caller).has_scope(scope)


def missing_scope_message(scope: str) -> str:
    return f"This token lacks the `{scope}` scope."


def _use_cache() -> bool:
    # The entry holds a copy of the user, so it follows the user cache's setting.
    return settings.TOKEN_BLOCKLIST_USE_CACHE and settings.AUTH_USER_CACHE_SECONDS > 0


def pat_mark_revoked(token_hash: str) -> None:
    """The cache's side of a revocation (accounts.services.pat_revoke): every worker
    refuses the token on its next request."""
    if _use_cache():
        try:
            # Outlives any entry a lookup that read the row before the revocation could add.
            cache.set(CACHE_PREFIX + token_hash, REVOKED, settings.AUTH_USER_CACHE_SECONDS * 5)
        except Exception:  # entries expire within AUTH_USER_CACHE_SECONDS
            logger.warning("Could not mark a revoked token in the cache", exc_info=True)


class TokenRefused(Exception):
    """The secret names no usable token; `message` says why."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message, self.code = message, code


MALFORMED = "The personal access token is malformed: copy it again, it ends in a checksum."
UNKNOWN = "The personal access token is unknown or has been revoked."
EXPIRED = "The personal access token has expired: create a new one."
INACTIVE = "The personal access token's user is deactivated."


def _load(token_hash: str) -> PersonalAccessToken | None:
    token = (
        PersonalAccessToken.objects.filter(token_hash=token_hash, revoked_at__isnull=True)
        .select_related("user")
        .prefetch_related("projects")
        .first()
    )
    if token is not None:
        # Kept with the entry: the project limit is read on every request.
        token.project_ids = [project.pk for project in token.projects.all()]
        token._prefetched_objects_cache = {}
    return token


def _lookup(token_hash: str) -> tuple[object, bool]:
    """The token with its user (or REVOKED, or None), and whether its last use is due to be
    recorded: one round trip when the cache is warm."""
    if not _use_cache():
        token = _load(token_hash)
        due = token is not None and (
            token.last_used_at is None
            or token.last_used_at < timezone.now() - timedelta(seconds=LAST_USED_EVERY)
        )
        return token, due
    key, used_key = CACHE_PREFIX + token_hash, USED_PREFIX + token_hash
    try:
        found = cache.get_many([key, used_key])
        token = found.get(key)
        if token is None:
            cache.add(key, _load(token_hash) or REVOKED, settings.AUTH_USER_CACHE_SECONDS)
            token = cache.get(key, REVOKED)  # what was added, or a revocation that won
        return token, used_key not in found and token != REVOKED
    except Exception:
        logger.warning("Personal access token cache unavailable; using the database")
        return _load(token_hash), False


def pat_authenticate(*, secret: str, ip: str) -> tuple[User, PersonalAccessToken]:
    """The user and token a secret stands for; the token's limits travel with it, as
    `request.auth` (accounts/callers.py)."""
    if not secret_is_well_formed(secret):
        raise TokenRefused(MALFORMED, "token_not_valid")
    token_hash = secret_hash(secret)
    token, use_due = _lookup(token_hash)
    if token is None or token == REVOKED:
        raise TokenRefused(UNKNOWN, "token_revoked")
    if token.expires_at is not None and token.expires_at <= timezone.now():
        raise TokenRefused(EXPIRED, "token_expired")
    user = token.user
    if not user.is_active:
        raise TokenRefused(INACTIVE, "user_inactive")
    if use_due:
        _record_use(token, token_hash, ip)
    return user, token


def _record_use(token: PersonalAccessToken, token_hash: str, ip: str) -> None:
    if _use_cache():
        try:
            if not cache.add(USED_PREFIX + token_hash, 1, LAST_USED_EVERY):
                return  # another request of this minute records it
        except Exception:
            return
    now = timezone.now()
    tokens = PersonalAccessToken.objects.filter(pk=token.pk)
    if tokens.filter(last_used_at__isnull=True).update(last_used_at=now, last_used_ip=ip or None):
        TokenEvent.objects.create(token=token, kind=TokenEvent.Kind.FIRST_USED, ip=ip or None)
    else:
        tokens.update(last_used_at=now, last_used_ip=ip or None)


def _forget_user_tokens(token_hashes: list[str]) -> None:
    try:
        cache.delete_many([CACHE_PREFIX + token_hash for token_hash in token_hashes])
    except Exception:  # entries expire within AUTH_USER_CACHE_SECONDS
        logger.warning("Could not drop cached tokens", exc_info=True)


@receiver([post_save, pre_delete], sender=User, dispatch_uid="accounts.forget_user_tokens")
def _forget_changed_user_tokens(sender, instance, **kwargs):
    # As blocklist._forget_changed_user, now and again after the commit; before a delete,
    # while the tokens (deleted with their user) can still be found.
    if not _use_cache():
        return
    tokens = PersonalAccessToken.objects.filter(user_id=instance.pk, revoked_at__isnull=True)
    token_hashes = list(tokens.values_list("token_hash", flat=True))
    if token_hashes:
        _forget_user_tokens(token_hashes)
        transaction.on_commit(lambda: _forget_user_tokens(token_hashes), robust=True)
