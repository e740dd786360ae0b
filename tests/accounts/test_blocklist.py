from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from accounts import blocklist
from accounts.blocklist import access_token_is_revoked, access_token_revoke
from accounts.models import RevokedAccessToken

pytestmark = pytest.mark.django_db


class BrokenCache:
    """A cache whose server cannot be reached."""

    def get_many(self, keys):
        raise ConnectionError("cache unreachable")

    def set(self, *args, **kwargs):
        raise ConnectionError("cache unreachable")


def _revoke(jti="revoked-jti", user=None, lifetime=timedelta(minutes=15)):
    access_token_revoke(jti=jti, expires_at=timezone.now() + lifetime, user=user)
    return jti


@override_settings(TOKEN_BLOCKLIST_USE_CACHE=True)
def test_with_the_cache_the_check_runs_no_sql(django_assert_num_queries, user):
    jti = _revoke(user=user)
    access_token_is_revoked("warm-up")  # loads the list and sets the marker

    with django_assert_num_queries(0):
        assert access_token_is_revoked(jti) is True
        assert access_token_is_revoked("never-revoked") is False
    assert RevokedAccessToken.objects.get(jti=jti).user == user


@override_settings(TOKEN_BLOCKLIST_USE_CACHE=True)
def test_with_the_cache_a_lost_marker_reloads_from_the_database(django_assert_num_queries):
    _revoke("before-restart")
    access_token_is_revoked("warm-up")
    cache.clear()  # the cache server restarted: its entries are gone

    assert access_token_is_revoked("before-restart") is True
    with django_assert_num_queries(0):
        assert access_token_is_revoked("before-restart") is True
        assert access_token_is_revoked("never-revoked") is False
    assert cache.get(blocklist.LOADED_MARKER) == 1


@override_settings(TOKEN_BLOCKLIST_USE_CACHE=True)
def test_with_the_cache_expired_rows_are_not_loaded():
    RevokedAccessToken.objects.create(
        jti="long-expired", expires_at=timezone.now() - timedelta(minutes=1)
    )
    access_token_is_revoked("warm-up")

    assert cache.get(blocklist.KEY_PREFIX + "long-expired") is None
    assert RevokedAccessToken.objects.filter(jti="long-expired").exists()


@override_settings(TOKEN_BLOCKLIST_USE_CACHE=True)
def test_an_unreachable_cache_falls_back_to_the_database(monkeypatch, django_assert_num_queries):
    jti = _revoke()
    monkeypatch.setattr(blocklist, "cache", BrokenCache())

    with django_assert_num_queries(1):
        assert access_token_is_revoked(jti) is True
    assert access_token_is_revoked("never-revoked") is False


@override_settings(TOKEN_BLOCKLIST_USE_CACHE=True)
def test_revoking_with_an_unreachable_cache_still_records_the_token(monkeypatch):
    monkeypatch.setattr(blocklist, "cache", BrokenCache())

    jti = _revoke("revoked-while-down")

    assert RevokedAccessToken.objects.filter(jti=jti).exists()
    assert access_token_is_revoked(jti) is True


@override_settings(TOKEN_BLOCKLIST_USE_CACHE=True)
def test_a_logged_out_token_stays_refused_when_the_cache_is_down(client_for, user, monkeypatch):
    client = client_for(user)
    client.post(
        "/api/v1/auth/logout",
        {"refresh_token": str(client.token_pair.refresh)},
        format="json",
    )
    monkeypatch.setattr(blocklist, "cache", BrokenCache())

    response = client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"
    assert RevokedAccessToken.objects.filter(jti=client.token_pair.access["jti"]).exists()


@override_settings(TOKEN_BLOCKLIST_USE_CACHE=False)
def test_without_the_cache_the_database_answers(django_assert_num_queries):
    jti = _revoke()
    # Even a cache that claims to hold the whole (empty) list is not consulted.
    cache.set(blocklist.LOADED_MARKER, 1, timeout=None)
    cache.delete(blocklist.KEY_PREFIX + jti)

    with django_assert_num_queries(1):
        assert access_token_is_revoked(jti) is True
    with django_assert_num_queries(1):
        assert access_token_is_revoked("never-revoked") is False
    assert RevokedAccessToken.objects.count() == 1


def test_revoking_twice_keeps_one_row(user):
    _revoke("twice", user=user)
    _revoke("twice", user=user)

    assert RevokedAccessToken.objects.filter(jti="twice").count() == 1
    assert access_token_is_revoked("twice") is True


@pytest.mark.redis
@override_settings(TOKEN_BLOCKLIST_USE_CACHE=True)
def test_redis_keeps_a_revoked_id_for_the_tokens_remaining_life():
    jti = _revoke(lifetime=timedelta(minutes=15))

    ttl = cache.ttl(blocklist.KEY_PREFIX + jti)

    assert 15 * 60 - 5 <= ttl <= 15 * 60 + 1
    assert RevokedAccessToken.objects.filter(jti=jti).exists()


def test_a_revoked_token_is_named_by_its_id():
    _revoke("named-jti")

    assert str(RevokedAccessToken.objects.get()) == "named-jti"
