"""Settings shared by every environment, all read from the environment (12-factor).

Every variable read here is documented in `.env.sample`.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.keys import SigningKeys

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# Core
SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "accounts",
    "projects",
    "issues",
    "comments",
    "attachments",
    "events",
    "feed",
    "webhooks",
    "notifications",
    "transfers",
    "demo",
]

MIDDLEWARE = [
    # First and last, so the metrics time everything in between.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "api.middleware.RequestIdMiddleware",
    "api.middleware.InternalEndpointsMiddleware",
    # Outside every middleware that answers an API request itself (413, 404), so those
    # answers are private too.
    "api.middleware.PrivateCacheMiddleware",
    "api.middleware.RequestBodyLimitMiddleware",
    "api.middleware.NulInPathMiddleware",
    "api.middleware.Utf8Middleware",
    # Outside CommonMiddleware, whose APPEND_SLASH redirects it leaves alone.
    "api.middleware.ApiNotFoundMiddleware",
    "api.middleware.RateLimitHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files with far-future caching, before anything that touches sessions.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The docs pages' own templates (config/templates/docs).
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite in the project folder unless DATABASE_URL says otherwise.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# DATABASE_POOLER=pgbouncer: DATABASE_URL is a PgBouncer in transaction pooling mode, which
# lends a server connection for one transaction only, so nothing may outlive a transaction
# on it: no server-side cursors (a queryset's .iterator() would DECLARE one that the next
# statement, on another connection, no longer finds) and no prepared statements (Django's
# default for psycopg 3, pinned so an OPTIONS change cannot turn them on).
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
if DATABASE_POOLER not in ("", "pgbouncer"):
    raise ImproperlyConfigured(f"DATABASE_POOLER is blank or pgbouncer, not {DATABASE_POOLER!r}")
if DATABASE_POOLER == "pgbouncer":
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
# django-prometheus's drop-in wrappers of Django's own backends count queries and errors.
DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
    "django.db.backends.", "django_prometheus.db.backends."
)
# PostgreSQL's checks a connection's socket before it pings the server (config/postgresql/
# base.py says why).
if DATABASES["default"]["ENGINE"] == "django_prometheus.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "config.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The issue list's covering indexes carry extra columns (INCLUDE) for PostgreSQL's
# index-only counts. SQLite builds the same indexes without them, which is all it needs;
# Django's warning about it (models.W040) says nothing about a zero-config setup.
SILENCED_SYSTEM_CHECKS = ["models.W040"] if "sqlite" in DATABASES["default"]["ENGINE"] else []

# SQLite (zero configuration): the server and scripts/run's worker write the same file.
# A transaction that reads and then writes while the other holds the write lock fails at
# once ("database is locked": SQLite will not wait for a lock it could deadlock on), so
# transactions take the write lock when they begin, and wait up to 20 s for it.
if "sqlite" in DATABASES["default"]["ENGINE"]:
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)

# Cache: Redis when REDIS_URL is set, otherwise per-process local memory.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis, counting hits and misses for /metrics.
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tracker",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # Fail fast when Redis is down: callers fall back instead of hanging.
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Users and passwords
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.UsernameOrEmailBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    # Kept so hashes made before Argon2 still verify (and are upgraded on login).
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Failed password checks allowed per client address and per account (the login as typed,
# in any case) in each window of LOGIN_FAILURE_WINDOW seconds, counted together for every
# login (API, browsable API, admin); past either, logins are refused until the window ends.
LOGIN_FAILURE_WINDOW = env.int("LOGIN_FAILURE_WINDOW", default=15 * 60)
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=20)
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=10)

# Proxies in front of the service (the ingress) whose X-Forwarded-For entries are trusted
# for the client's address (api.clients.client_ip). 0: none, the peer is the client; a
# forwarding header is then anyone's to forge.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Blank counts as unset, as everywhere in .env.sample (which Docker Compose reads as is).
STATIC_ROOT = env("STATIC_ROOT", default="") or str(BASE_DIR / "staticfiles")
# `collectstatic` writes hashed, compressed copies that WhiteNoise serves with
# far-future cache headers. With DEBUG on, unhashed names are served without it.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOGIN_URL = "rest_framework:login"
LOGIN_REDIRECT_URL = "/api/v1/"

# REST framework
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First, deciding by the `trk_` prefix alone; other bearer tokens are JWTs.
        "accounts.authentication.PersonalAccessTokenAuthentication",
        "accounts.authentication.JWTAuthentication",
        # The browsable API logs in with a session; DRF enforces CSRF for it.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        # orjson: the same JSON as DRF's renderer, encoded several times faster.
        "drf_orjson_renderer.renderers.ORJSONRenderer",
        "api.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JSONParser",
        "api.parsers.FormParser",
        "api.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PageNumberPagination",
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.UserRateThrottle"],
    # drf-spectacular's, plus the conditional requests and rate-limit headers views declare.
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.problem_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login": env("THROTTLE_LOGIN", default="10/min"),
        "register": env("THROTTLE_REGISTER", default="5/min"),
        "refresh": env("THROTTLE_REFRESH", default="30/min"),
        "user": env("THROTTLE_USER", default="5000/hour"),
        # Imports (and dry runs) started per user (transfers/views.py).
        "imports": env("THROTTLE_IMPORTS", default="30/hour"),
    },
    # DRF's own get_ident agrees with api.clients.client_ip, which ours call.
    "NUM_PROXIES": NUM_PROXIES,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Issue Tracker API",
    "DESCRIPTION": "Projects, issues with a guarded workflow, and comments.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # The contract is JSON; the form parsers serve only the browsable API's HTML forms.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_shared_responses",
        "api.schema.name_for_clients",
    ],
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "tryItOutEnabled": True},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Users and memberships both have a "role": give each choice set its own name.
    "ENUM_NAME_OVERRIDES": {
        "UserRoleEnum": "accounts.models.User.SiteRole",
        "UserTypeEnum": "accounts.models.User.Type",
        "ProjectRoleEnum": "projects.models.Role.labels",
        # An issue's status wherever it appears (issues, their history), by one name.
        "IssueStatusEnum": "issues.models.Issue.Status",
        "IssueTypeEnum": "issues.models.Issue.Type",
        "IssueRelationTypeEnum": "issues.relations.TYPE_NAMES",
        "EventTypeEnum": "events.models.Event.Type",
        "DeliveryStatusEnum": "webhooks.models.Delivery.Status",
        # Notifications: the reasons, and how each reaches a person by mail.
        "NotificationReasonEnum": "notifications.models.Reason",
        "NotificationDeliveryEnum": "notifications.models.Delivery",
        # Exports and imports share their statuses (transfers/models.py).
        "TransferStatusEnum": "transfers.models.Export.Status",
        "ExportFormatEnum": "transfers.models.Export.Format",
        "ImportFormatEnum": "transfers.models.Import.Format",
        "AttachmentStatusEnum": "attachments.models.Attachment.Status",
    },
}

# JWT signing keys: PEM text in PRIVATE_KEY/PUBLIC_KEY, or files at *_PATH.
SIGNING_KEYS = SigningKeys.from_env(env)

JWT_ISSUER = env("JWT_ISSUER", default="issue-tracker")
JWT_AUDIENCE = env("JWT_AUDIENCE", default="issue-tracker-api")
ACCESS_TOKEN_LIFETIME = timedelta(seconds=env.int("ACCESS_TOKEN_LIFETIME", default=15 * 60))
REFRESH_TOKEN_LIFETIME = timedelta(
    seconds=env.int("REFRESH_TOKEN_LIFETIME", default=7 * 24 * 3600)
)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": ACCESS_TOKEN_LIFETIME,
    "REFRESH_TOKEN_LIFETIME": REFRESH_TOKEN_LIFETIME,
    "ALGORITHM": "RS256",
    "ISSUER": JWT_ISSUER,
    "AUDIENCE": JWT_AUDIENCE,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "AUTH_TOKEN_CLASSES": ("accounts.tokens.AccessToken",),
    "UPDATE_LAST_LOGIN": False,
}

# Larger request bodies are refused with 413 (1 MiB holds any valid issue or comment).
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=1024 * 1024)

# /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; blank (the default) turns
# it off: the application port is open to whoever reaches it (api/metrics.py says why).
# Stripped because a Secret made from a file keeps its newline, and Prometheus strips its
# credentials file.
METRICS_TOKEN = env("METRICS_TOKEN", default="").strip()

# Celery (config/celery.py) relays and delivers webhooks. The broker only carries ids: the
# outbox tables are the truth, and the beat's sweeper re-queues whatever a broker lost.
# Default broker: Redis when REDIS_URL is set, else a folder on disk that `scripts/run`'s
# in-process worker reads (one machine only). RabbitMQ: amqp://user:pass@host:5672//.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _queue = BASE_DIR / ".celery" / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        # Broadcasts (worker pings, inspect) too, rather than ./control in the working dir.
        "control_folder": str(BASE_DIR / ".celery" / "control"),
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # kombu's Redis transport, but a worker outlives the broker's restarts (config/celery.py).
    CELERY_BROKER_TRANSPORT = "config.celery:RedisTransport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task queued with an ETA (a webhook retry, at most webhooks.services.RETRY_ETA_MAX
        # ahead) is held unacknowledged until then; Redis gives an unacknowledged task to
        # another worker after this long.
        "visibility_timeout": 3600,
    }
# A task is acknowledged when it has run, and given back if its worker dies mid-way; tasks
# are idempotent, so running one twice is harmless, losing one is not.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A task running when the broker goes away finishes (what it sent is recorded); its message
# is given back, and running it again finds nothing left to do.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# A request never waits on a dead broker: one quick try, then the sweeper's turn.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# A worker waits out a broker outage of any length, reconnecting (rather than giving up
# after 100 tries, Celery's default), at start-up too.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TIMEZONE = "UTC"
WEBHOOK_SWEEP_INTERVAL = env.int("WEBHOOK_SWEEP_INTERVAL", default=30)
CELERY_BEAT_SCHEDULE = {
    "webhooks-sweep": {"task": "webhooks.tasks.sweep", "schedule": WEBHOOK_SWEEP_INTERVAL},
    "webhooks-prune": {"task": "webhooks.tasks.prune_deliveries", "schedule": 3600},
    # Old exports deleted, lost export and import jobs started again (transfers/).
    "transfers-sweep": {"task": "transfers.tasks.sweep", "schedule": 300},
}

# Webhooks (webhooks/). Seconds to wait before each retry after the first attempt (Standard
# Webhooks' schedule: about 27 hours in all), each stretched or shrunk by up to 10% jitter.
WEBHOOK_RETRY_SCHEDULE = [
    int(s)
    for s in env.list("WEBHOOK_RETRY_SCHEDULE", default=[5, 300, 1800, 7200, 18000, 36000, 36000])
]
# A webhook is turned off after this many events in a row failed for good.
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=10)
WEBHOOK_CONNECT_TIMEOUT = env.float("WEBHOOK_CONNECT_TIMEOUT", default=5)
WEBHOOK_READ_TIMEOUT = env.float("WEBHOOK_READ_TIMEOUT", default=10)
# After a rotation, the old secret still signs (beside the new one) for this many seconds.
WEBHOOK_SECRET_ROTATION_GRACE = env.int("WEBHOOK_SECRET_ROTATION_GRACE", default=24 * 3600)
WEBHOOK_DELIVERY_RETENTION_DAYS = env.int("WEBHOOK_DELIVERY_RETENTION_DAYS", default=30)
# Webhook URLs may not reach the service's own network (SSRF) unless the operator allows
# hosts by name or every private address (local receivers in development and tests).
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=[])
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)

# --- Notifications and email (notifications/; README, "Notifications") ---------------------
# The service's public address, for links in mail (the issue, one-click unsubscribe).
# Blank: http://127.0.0.1:8000 in development; production derives https://<first
# ALLOWED_HOSTS entry> (config/settings/production.py).
PUBLIC_URL = env("PUBLIC_URL", default="").rstrip("/") or "http://127.0.0.1:8000"
# Where a mail's issue link points: {base} is PUBLIC_URL, {key} the issue's key. Point it
# at a web client's page for the issue if there is one; the default is the API's resource.
NOTIFY_ISSUE_URL = env("NOTIFY_ISSUE_URL", default="") or "{base}/api/v1/issues/{key}"
# Outgoing mail (Django's settings and defaults). With EMAIL_HOST set, mail goes out through
# that SMTP server (a provider: EMAIL_PORT=587, EMAIL_USE_TLS=true); without it, it is
# printed on the worker's console (EMAIL_BACKEND picks another:
# django.core.mail.backends.filebased.EmailBackend writes files into EMAIL_FILE_PATH).
EMAIL_HOST = env("EMAIL_HOST", default="")
EMAIL_BACKEND = env("EMAIL_BACKEND", default="") or (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
# Seconds to wait for the SMTP server; a send cut off is retried (no mail is ever dropped).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default="") or str(BASE_DIR / ".mail")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Issue Tracker <notifications@localhost>")
# Seconds between the notification sweeps: events a lost task never turned into
# notifications, and mails due (again) after a failed attempt.
NOTIFY_SWEEP_INTERVAL = env.int("NOTIFY_SWEEP_INTERVAL", default=30)
# Batches: "immediately" mails go once NOTIFY_IMMEDIATE_QUIET seconds pass without more
# activity for the person (at most NOTIFY_IMMEDIATE_MAX after the first); "batched" ones
# after NOTIFY_BATCH_QUIET seconds without activity or NOTIFY_BATCH_MAX in all.
NOTIFY_IMMEDIATE_QUIET = env.int("NOTIFY_IMMEDIATE_QUIET", default=10)
NOTIFY_IMMEDIATE_MAX = env.int("NOTIFY_IMMEDIATE_MAX", default=40)
NOTIFY_BATCH_QUIET = env.int("NOTIFY_BATCH_QUIET", default=180)
NOTIFY_BATCH_MAX = env.int("NOTIFY_BATCH_MAX", default=600)
# Seconds between the beat's looks for batches to close (and mail).
NOTIFY_CLOSE_INTERVAL = env.int("NOTIFY_CLOSE_INTERVAL", default=10)
# The daily digest is sent at this hour (UTC).
NOTIFY_DIGEST_HOUR = env.int("NOTIFY_DIGEST_HOUR", default=7)
# Seconds before each retry of a mail the SMTP server did not take; the last one repeats
# until NOTIFY_EMAIL_GIVE_UP_HOURS have passed since the mail was made.
NOTIFY_EMAIL_RETRY_SCHEDULE = [
    int(s) for s in env.list("NOTIFY_EMAIL_RETRY_SCHEDULE", default=[30, 120, 600, 1800, 3600])
]
NOTIFY_EMAIL_GIVE_UP_HOURS = env.int("NOTIFY_EMAIL_GIVE_UP_HOURS", default=72)
# Seconds a send may take before the sweep may try the mail again (its worker died); 0:
# 3 x EMAIL_TIMEOUT + 30.
NOTIFY_EMAIL_LEASE = env.int("NOTIFY_EMAIL_LEASE", default=0)
# Mails sent (or given up) are deleted after this many days.
NOTIFY_EMAIL_RETENTION_DAYS = env.int("NOTIFY_EMAIL_RETENTION_DAYS", default=30)
# The inbox's X-Poll-Interval: seconds a client should wait between polls.
NOTIFY_POLL_INTERVAL = env.int("NOTIFY_POLL_INTERVAL", default=60)
CELERY_BEAT_SCHEDULE |= {
    "notifications-sweep": {
        "task": "notifications.tasks.sweep",
        "schedule": NOTIFY_SWEEP_INTERVAL,
    },
    "notifications-close-batches": {
        "task": "notifications.tasks.close_batches",
        "schedule": NOTIFY_CLOSE_INTERVAL,
    },
    "notifications-digest": {
        "task": "notifications.tasks.send_digests",
        "schedule": crontab(minute=0, hour=NOTIFY_DIGEST_HOUR),
    },
    "notifications-prune": {"task": "notifications.tasks.prune", "schedule": 3600},
}

# With Redis, revoked access-token ids are answered from the cache (no SQL);
# a per-process cache would not see revocations made by other workers.
TOKEN_BLOCKLIST_USE_CACHE = bool(REDIS_URL)
# With Redis, authentication reads a cached copy of the token's user (fetched in the same
# round trip as the blocklist) for up to this long; saves drop it at once. 0 turns it off.
AUTH_USER_CACHE_SECONDS = env.int("AUTH_USER_CACHE_SECONDS", default=60)

# One JSON object per line on stderr, each with the request's id (config.logging).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # Django's own defaults give "django" a plain-text handler (under DEBUG) that also
    # propagates here, so each record was printed twice; the root's JSON line is enough.
    # (Configuring "django" also resets its children, so runserver's "django.server" access
    # lines come out once too, as JSON.)
    "loggers": {"django": {"handlers": [], "propagate": True}},
}

# --- Exports and imports (transfers/; README, "Export and import") ---------------------
# Where export files and uploaded import files are kept: "local", a folder on disk
# (TRANSFERS_ROOT; one machine, or a volume every web and worker pod mounts), or "s3", a
# bucket through django-storages, configured by its own AWS_* settings (below; the keys
# come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the pod's role, as boto3 finds them).
TRANSFERS_STORAGE = env.str("TRANSFERS_STORAGE", default="local")
TRANSFERS_ROOT = env("TRANSFERS_ROOT", default="") or str(BASE_DIR / "var" / "transfers")
if TRANSFERS_STORAGE == "local":
    STORAGES["transfers"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": TRANSFERS_ROOT},
    }
elif TRANSFERS_STORAGE == "s3":
    STORAGES["transfers"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"location": "transfers", "file_overwrite": False},
    }
    AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
    AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default="") or None
    AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default="") or None
    AWS_S3_ADDRESSING_STYLE = env("AWS_S3_ADDRESSING_STYLE", default="") or None
    AWS_S3_SIGNATURE_VERSION = "s3v4"
else:
    raise ImproperlyConfigured(f"TRANSFERS_STORAGE is local or s3, not {TRANSFERS_STORAGE!r}")
# Bulk edit (POST /api/v1/issues/bulk): the most issues one request may change. Each is
# locked and changed in the request's transaction, so this bounds how long it holds them.
BULK_EDIT_MAX_ISSUES = env.int("BULK_EDIT_MAX_ISSUES", default=100)

# --- Attachments (attachments/; README, "Attachments") -------------------------------
# Stored by the same switch as exports (TRANSFERS_STORAGE): a folder on disk beside the
# database (ATTACHMENTS_ROOT, git-ignored under var/) or the same S3 bucket, under its own
# prefix. ATTACHMENT_MAX_BYTES is the one size limit, enforced on every path and published.
ATTACHMENTS_ROOT = env("ATTACHMENTS_ROOT", default="") or str(BASE_DIR / "var" / "attachments")
if TRANSFERS_STORAGE == "local":
    STORAGES["attachments"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": ATTACHMENTS_ROOT},
    }
else:
    STORAGES["attachments"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"location": "attachments", "file_overwrite": False},
    }
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=25 * 1024 * 1024)
# An upload still pending this many hours after it began is deleted by the beat's sweep,
# which also retries every stored object a deleted row left behind (README, "Attachments").
ATTACHMENT_PENDING_HOURS = env.int("ATTACHMENT_PENDING_HOURS", default=24)
# A virus scanner every upload goes through before it may be downloaded:
# clamd://host:port (ClamAV's daemon). Blank: none. While it cannot be reached, uploads
# stay pending and the beat's sweep tries again.
ATTACHMENT_SCANNER = env("ATTACHMENT_SCANNER", default="")
if ATTACHMENT_SCANNER and not ATTACHMENT_SCANNER.startswith("clamd://"):
    raise ImproperlyConfigured(
        f"ATTACHMENT_SCANNER is blank or clamd://host:port, not {ATTACHMENT_SCANNER!r}"
    )
ATTACHMENT_SCAN_TIMEOUT = env.float("ATTACHMENT_SCAN_TIMEOUT", default=30)
# With S3: how long the signed URL of a two-step upload (the client's PUT straight to the
# store) and of a download (GET .../content redirects to it) stay valid, in seconds.
ATTACHMENT_UPLOAD_URL_SECONDS = env.int("ATTACHMENT_UPLOAD_URL_SECONDS", default=600)
ATTACHMENT_DOWNLOAD_URL_SECONDS = env.int("ATTACHMENT_DOWNLOAD_URL_SECONDS", default=300)
CELERY_BEAT_SCHEDULE |= {
    "attachments-sweep": {"task": "attachments.tasks.sweep", "schedule": 300},
}
# Exports: deleted this many hours after they were asked for; a download link works for
# this many seconds (read the export again for a new one); issues read per query.
EXPORT_RETENTION_HOURS = env.int("EXPORT_RETENTION_HOURS", default=24)
EXPORT_LINK_SECONDS = env.int("EXPORT_LINK_SECONDS", default=600)
EXPORT_BATCH_SIZE = env.int("EXPORT_BATCH_SIZE", default=500)
# Imports: the largest file taken, the longest record (one issue with its comments: a
# line of JSONL or CSV, an element of GitHub's array), comments and history entries per
# issue, entries per list of a report.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=64 * 1024 * 1024)
IMPORT_MAX_RECORD_BYTES = env.int("IMPORT_MAX_RECORD_BYTES", default=2 * 1024 * 1024)
IMPORT_MAX_COMMENTS = env.int("IMPORT_MAX_COMMENTS", default=1000)
IMPORT_MAX_HISTORY = env.int("IMPORT_MAX_HISTORY", default=5000)
IMPORT_REPORT_ITEMS = env.int("IMPORT_REPORT_ITEMS", default=100)
# The import job: issues per transaction, the pause between two (the API's writes go
# between), and how long one task runs before it queues the rest behind other tasks.
IMPORT_BATCH_SIZE = env.int("IMPORT_BATCH_SIZE", default=50)
IMPORT_BATCH_PAUSE = env.float("IMPORT_BATCH_PAUSE", default=0.05)
IMPORT_SLICE_SECONDS = env.int("IMPORT_SLICE_SECONDS", default=60)
# Finished imports (their reports) are forgotten after this many days; the issues stay.
IMPORT_RETENTION_DAYS = env.int("IMPORT_RETENTION_DAYS", default=30)
# A queued or running job with no sign of life for this long is started again.
TRANSFERS_STALL_SECONDS = env.int("TRANSFERS_STALL_SECONDS", default=600)
# The Celery queue of export and import jobs: blank is the default queue; a name routes
# them there, for workers started with `-Q <name>` (keeping them off the webhook workers).
TRANSFERS_QUEUE = env.str("TRANSFERS_QUEUE", default="")
if TRANSFERS_QUEUE:
    CELERY_TASK_ROUTES = {
        "transfers.tasks.run_export": {"queue": TRANSFERS_QUEUE},
        "transfers.tasks.run_import": {"queue": TRANSFERS_QUEUE},
    }
