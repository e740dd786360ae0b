"""What authenticating one request costs in SQL, for the lists' query budgets.

Budgets are written as the list's own queries plus AUTH_QUERIES, so one table holds for
both backends the suite runs on:

- With Redis (REDIS_URL set, as in production), a warmed request reads the token
  blocklist and a copy of the user in one cache round trip: no SQL.
- Without it (the zero-config local-memory cache), both come from the database on every
  request: the blocklist row and the user. A per-process cache cannot hold revocations
  that another process made, so the blocklist is never cached there (accounts/blocklist.py).
"""

from django.conf import settings


def auth_queries() -> int:
    """The queries authentication adds to a request whose caches are warm."""
    return 0 if settings.TOKEN_BLOCKLIST_USE_CACHE else 2
