import pytest
from django.db import OperationalError
from django.test import override_settings

from api import health

pytestmark = pytest.mark.django_db


def _fail(*args, **kwargs):
    raise OperationalError("connection refused")


def test_health_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_health_answers_even_when_the_database_is_down(client, monkeypatch):
    monkeypatch.setattr(health, "_check_database", _fail)

    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_checks_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/ready")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert "no-cache" in response["Cache-Control"]


def test_ready_is_503_naming_the_database_when_it_fails(client, monkeypatch):
    monkeypatch.setattr(health, "_check_database", _fail)

    response = client.get("/ready")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failed"] == ["database"]
    assert body["checks"]["database"] == "unavailable"


def test_ready_is_503_when_the_database_cursor_fails(client, monkeypatch):
    monkeypatch.setattr(health.connection, "cursor", _fail)

    response = client.get("/ready")

    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]


@override_settings(REDIS_URL="redis://configured:6379/0")
def test_ready_checks_the_cache_when_redis_is_configured(client):
    response = client.get("/ready")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok"}


@override_settings(REDIS_URL="redis://configured:6379/0")
def test_ready_is_503_naming_the_cache_when_it_fails(client, monkeypatch):
    monkeypatch.setattr(health, "_check_cache", _fail)

    response = client.get("/ready")

    assert response.status_code == 503
    assert response.json()["failed"] == ["cache"]
    assert response.json()["checks"] == {"database": "ok", "cache": "unavailable"}


@pytest.mark.redis
def test_ready_reaches_redis(client):
    response = client.get("/ready")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok"}


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_probes_only_answer_get(client, path, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.post(path)

    assert response.status_code == 405
    assert response["Allow"] == "GET"
