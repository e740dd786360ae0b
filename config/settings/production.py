"""Production: secure defaults, and start-up refuses to go on without its secrets."""

import sys

from .base import *  # noqa: F403
from .base import SECRET_KEY, SIGNING_KEYS, env


def _require(value, name: str):
    if not value:
        # One line naming the variable, instead of a traceback deep in Django.
        sys.exit(f"ImproperlyConfigured: set the {name} environment variable.")
    return value


_require(SECRET_KEY, "SECRET_KEY")
_require(SIGNING_KEYS.configured, "PRIVATE_KEY (or PRIVATE_KEY_PATH)")
ALLOWED_HOSTS = _require(env.list("ALLOWED_HOSTS", default=[]), "ALLOWED_HOSTS")
# The on-disk default broker (filesystem://) reaches one machine only: web, worker and beat
# pods must share a broker.
_require(
    env("CELERY_BROKER_URL", default="") or env("REDIS_URL", default=""),
    "CELERY_BROKER_URL (or REDIS_URL)",
)

DEBUG = env.bool("DEBUG", default=False)

# Links in mail: the first host the service answers to, over HTTPS, unless PUBLIC_URL says.
_PUBLIC_HOST = next((h.lstrip(".") for h in ALLOWED_HOSTS if h != "*"), "localhost")
PUBLIC_URL = env("PUBLIC_URL", default="").rstrip("/") or f"https://{_PUBLIC_HOST}"

# TLS ends at the ingress, which tells us the original scheme.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Probes and the metrics scraper speak plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
