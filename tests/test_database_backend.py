"""The PostgreSQL backend (config/postgresql/base.py) pings a persistent connection before
a request's first query only when the server has sent something since: a sound connection
costs no round trip, one the server closed is replaced (tests/test_outages.py has the
restart itself)."""

import pytest
from django.db import connection, connections

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend"),
]


@pytest.fixture
def wrapper():
    """This thread's connection itself (`connection` is a proxy to it)."""
    return connections["default"]


@pytest.fixture
def pings(monkeypatch, wrapper):
    """The health checks made (each a `SELECT 1` round trip)."""
    made = []
    ping = type(wrapper).is_usable
    monkeypatch.setattr(type(wrapper), "is_usable", lambda self: made.append(1) or ping(self))
    monkeypatch.setattr(wrapper, "health_check_enabled", True)
    return made


def new_request(wrapper):
    # What Django does at each request's start and end (close_old_connections).
    wrapper.health_check_done = False


def query(wrapper, sql="SELECT pg_backend_pid()"):
    with wrapper.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def test_the_settings_choose_the_backend(wrapper):
    assert type(wrapper).__module__ == "config.postgresql.base"


def test_a_sound_connection_is_not_pinged(pings, wrapper):
    pid = query(wrapper)
    new_request(wrapper)
    assert query(wrapper) == pid
    assert pings == []
