"""When the database or Redis cannot be reached, clients get JSON, not HTML or a 500.

The database is made unreachable by a cursor that raises; Redis by a real client pointed
at a port where nothing listens (what django-redis does when Redis is stopped).
"""

import json
import socket
import threading

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.test import Client, RequestFactory, override_settings

from accounts.models import RevokedAccessToken
from api import exceptions as problems
from api import idempotency
from issues.models import Issue

pytestmark = pytest.mark.django_db

DATABASE_ERRORS = [
    OperationalError("server closed the connection unexpectedly"),
    InterfaceError("connection already closed"),
]


def _assert_database_unavailable(response, instance: str) -> None:
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "5"
    body = json.loads(response.content)
    assert body == {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "The database is unavailable; retry shortly.",
        "code": "database_unavailable",
        "instance": instance,
    }


@pytest.fixture
def database_down(monkeypatch):
    """Every query from now on fails as it does when PostgreSQL is down."""

    def down(error):
        def fail(*args, **kwargs):
            raise error

        monkeypatch.setattr(connection, "cursor", fail)

    return down


@pytest.mark.parametrize("error", DATABASE_ERRORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/me", None),
        ("get", "/api/v1/projects", None),
        ("post", "/api/v1/issues", {"project": "X", "title": "t"}),
        ("post", "/api/v1/auth/login", {"username": "someone", "password": "secret"}),
    ],
)
def test_an_api_call_without_the_database_is_a_503_problem(
    client_for, user, database_down, error, method, path, body
):
    client = client_for(user)
    database_down(error)

    response = client.get(path) if method == "get" else client.post(path, body, format="json")

    _assert_database_unavailable(response, path)


def test_a_page_outside_the_api_without_the_database_is_a_503_problem(site_admin, database_down):
    client = Client(raise_request_exception=False)
    client.force_login(site_admin)
    database_down(OperationalError("the database system is shutting down"))

    response = client.get("/admin/")

    _assert_database_unavailable(response, "/admin/")


def test_the_server_error_handler_answers_503_only_for_database_errors():
    request = RequestFactory().get("/admin/")
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        during = problems.server_error(request)
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        other = problems.server_error(request)

    _assert_database_unavailable(during, "/admin/")
    assert other.status_code == 500
    assert json.loads(other.content)["code"] == "server_error"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_persistent_connection_lost_to_a_restart_is_replaced_by_the_next_request(
    monkeypatch, client_for, user
):
    # As in production: connections outlive requests (CONN_MAX_AGE), checked on first use.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()
    client = client_for(user)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()

    def terminate():  # what a PostgreSQL restart does to every open connection
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        connection.close()

    killer = threading.Thread(target=terminate)
    killer.start()
    killer.join()
    close_old_connections()  # what Django does when a request starts

    response = client.get("/api/v1/me")

    assert response.status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


# -- Redis unreachable -----------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_down():
    """The cache is a real Redis client whose server is not running."""
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    dead = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    rates = dict.fromkeys(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "1/min")
    with override_settings(
        CACHES=dead,
        REDIS_URL=url,
        TOKEN_BLOCKLIST_USE_CACHE=True,
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates},
    ):
        with pytest.raises(Exception, match=r"(?i)connect"):
            cache.get("anything")
        yield


def test_without_redis_the_api_answers_and_throttles_fail_open(redis_down, client_for, user):
    client = client_for(user)

    # Every limit is 1/min; with no counter store each request is let through.
    responses = [client.get("/api/v1/me") for _ in range(3)]

    assert [r.status_code for r in responses] == [200] * 3
    assert responses[0].json()["username"] == user.username
    assert "RateLimit-Limit" not in responses[0]


def test_without_redis_logins_are_not_throttled(redis_down, api_client, user, password):
    responses = [
        api_client.post(
            "/api/v1/auth/login", {"username": user.username, "password": password}, format="json"
        )
        for _ in range(3)
    ]

    assert [r.status_code for r in responses] == [200] * 3


def test_without_redis_a_logged_out_token_stays_refused(redis_down, client_for, user):
    client = client_for(user)
    logout = client.post(
        "/api/v1/auth/logout", {"refresh_token": str(client.token_pair.refresh)}, format="json"
    )

    response = client.get("/api/v1/me")

    assert logout.status_code == 204
    assert RevokedAccessToken.objects.filter(jti=client.token_pair.access["jti"]).exists()
    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"


def test_without_redis_ready_is_503_naming_the_cache(redis_down, client):
    response = client.get("/ready")

    assert response.status_code == 503
    assert response.json()["failed"] == ["cache"]
    assert response.json()["checks"] == {"database": "ok", "cache": "unavailable"}


def test_without_redis_an_idempotent_create_proceeds_without_the_key(
    redis_down, project, client_for
):
    client = client_for(project.created_by)
    url = f"/api/v1/projects/{project.key}/issues"

    first = client.post(url, {"title": "Made during an outage"}, HTTP_IDEMPOTENCY_KEY="k-1")
    retry = client.post(url, {"title": "Made during an outage"}, HTTP_IDEMPOTENCY_KEY="k-1")

    # Documented: without the cache there is no record to replay, so a retry creates again.
    assert (first.status_code, retry.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in retry
    assert sorted(Issue.objects.filter(project=project).values_list("number", flat=True)) == [
        1,
        2,
    ]


class CacheLostMidRequest:
    """Redis answers the first look-ups, then goes away before the record is written."""

    def get(self, key):
        return None

    def add(self, key, value, timeout=None):
        return True

    def set(self, *args, **kwargs):
        raise ConnectionError("cache unreachable")

    def delete(self, key):
        raise ConnectionError("cache unreachable")


def test_a_cache_lost_after_an_idempotent_create_does_not_turn_it_into_a_500(
    monkeypatch, project, client_for, django_capture_on_commit_callbacks
):
    client = client_for(project.created_by)
    monkeypatch.setattr(idempotency, "cache", CacheLostMidRequest())

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            f"/api/v1/projects/{project.key}/issues", {"title": "Kept"}, HTTP_IDEMPOTENCY_KEY="k-2"
        )

    # The record write ran after commit, and failed (the event relay's callbacks ran too).
    assert [c for c in callbacks if "create_once" in getattr(c, "__qualname__", "")]

    assert response.status_code == 201
    assert response.json()["title"] == "Kept"
    assert Issue.objects.get(project=project).title == "Kept"
