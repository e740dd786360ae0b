"""Settings for the test suite."""

import tempfile

from .base import *  # noqa: F403
from .base import BASE_DIR, REST_FRAMEWORK, SIGNING_KEYS, STORAGES

SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

# Hashing with Argon2 in every test would dominate the run time; a test checks
# the production hasher list separately.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if not SIGNING_KEYS.configured:
    SIGNING_KEYS = SigningKeys.generate_into(BASE_DIR / ".keys" / "test")

# Generous limits so ordinary tests never trip a throttle; throttle tests set their own.
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(
    REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "10000/min"
)
LOGIN_FAILURES_PER_ADDRESS = LOGIN_FAILURES_PER_ACCOUNT = 10000

CACHES["default"]["KEY_PREFIX"] = "tracker-test"
DATABASES["default"]["CONN_MAX_AGE"] = 0

LOGGING = {"version": 1, "disable_existing_loggers": False}

# Plain storage: tests render templates without running collectstatic first.
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# ... so WhiteNoise looks files up per request instead of scanning a STATIC_ROOT at start.
WHITENOISE_AUTOREFRESH = True
# Exports and uploaded imports in a folder of this run's own.
STORAGES["transfers"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": tempfile.mkdtemp(prefix="tracker-transfers-")},
}
# Attachments too (tests that look at the folder take tests/conftest.py's own per test).
STORAGES["attachments"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": tempfile.mkdtemp(prefix="tracker-attachments-")},
}
# Import jobs do not pause between batches in tests.
IMPORT_BATCH_PAUSE = 0

# Celery tasks run in the calling thread (on commit, as in production): tests see their
# effects, and a task's error fails the test.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
