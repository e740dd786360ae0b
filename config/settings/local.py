"""Local development: DEBUG on, zero configuration."""

from .base import *  # noqa: F403
from .base import BASE_DIR, SIGNING_KEYS, env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-development-only")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

if not SIGNING_KEYS.configured:
    # A development key pair, generated once into a git-ignored folder.
    SIGNING_KEYS = SigningKeys.generate_into(
        BASE_DIR / ".keys", previous=SIGNING_KEYS.previous_public_pems
    )
