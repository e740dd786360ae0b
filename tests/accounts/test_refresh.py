import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import TokenFamily
from accounts.services import token_pair_for_user
from accounts.tokens import RefreshToken

pytestmark = pytest.mark.django_db

REFRESH = "/api/v1/auth/refresh"


def _refresh(client, raw):
    return client.post(REFRESH, {"refresh_token": str(raw)}, format="json")


def _blacklisted(jti: str) -> bool:
    return BlacklistedToken.objects.filter(token__jti=jti).exists()


def test_refresh_hands_out_a_new_pair_and_retires_the_old_token(api_client, user):
    pair = token_pair_for_user(user=user)

    response = _refresh(api_client, pair.refresh)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["refresh_token"] != str(pair.refresh)
    assert body["access_token"] != str(pair.access)
    new_refresh = RefreshToken(body["refresh_token"])
    assert new_refresh["fam"] == pair.refresh["fam"]
    family = TokenFamily.objects.get(user=user)
    assert family.current_jti == new_refresh["jti"]
    assert family.revoked_at is None
    assert _blacklisted(pair.refresh["jti"])
    assert not _blacklisted(new_refresh["jti"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert api_client.get("/api/v1/me").json()["id"] == user.pk


def test_reusing_a_rotated_token_revokes_the_whole_family(api_client, user):
    pair = token_pair_for_user(user=user)
    newest = _refresh(api_client, pair.refresh).json()["refresh_token"]

    reuse = _refresh(api_client, pair.refresh)

    assert reuse.status_code == 401
    assert reuse.json()["code"] == "invalid_refresh_token"
    family = TokenFamily.objects.get(user=user)
    assert family.revoked_at is not None
    assert family.revoked_reason == "reuse"
    assert _blacklisted(RefreshToken(newest)["jti"])
    # The legitimate holder's newest token dies with the stolen one.
    after = _refresh(api_client, newest)
    assert after.status_code == 401
    assert after.json()["code"] == "invalid_refresh_token"
    assert TokenFamily.objects.get(user=user).revoked_reason == "reuse"


def test_reuse_leaves_the_users_other_families_alone(api_client, user):
    phone = token_pair_for_user(user=user)
    laptop = token_pair_for_user(user=user)
    _refresh(api_client, phone.refresh)

    assert _refresh(api_client, phone.refresh).status_code == 401

    assert TokenFamily.objects.get(pk=phone.refresh["fam"]).revoked_reason == "reuse"
    assert TokenFamily.objects.get(pk=laptop.refresh["fam"]).revoked_at is None
    assert _refresh(api_client, laptop.refresh).status_code == 200


def test_refresh_refuses_an_access_token(api_client, user):
    pair = token_pair_for_user(user=user)

    response = _refresh(api_client, pair.access)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"
    family = TokenFamily.objects.get(user=user)
    assert family.current_jti == pair.refresh["jti"]
    assert family.revoked_at is None
    assert not BlacklistedToken.objects.exists()


@pytest.mark.parametrize("raw", ["", "not-a-token", "a.b.c"])
def test_refresh_refuses_garbage(api_client, user, raw):
    pair = token_pair_for_user(user=user)

    response = _refresh(api_client, raw)

    assert response.status_code in {400, 401}
    assert response.json()["status"] == response.status_code
    assert TokenFamily.objects.get(user=user).current_jti == pair.refresh["jti"]
    assert not BlacklistedToken.objects.exists()


def test_refresh_for_a_deactivated_user_fails_and_revokes_the_family(api_client, user):
    pair = token_pair_for_user(user=user)
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = _refresh(api_client, pair.refresh)

    assert response.status_code == 401
    family = TokenFamily.objects.get(user=user)
    assert family.revoked_reason == "inactive"
    assert OutstandingToken.objects.filter(user=user).count() == 1


def test_refresh_of_a_deleted_family_fails(api_client, user):
    pair = token_pair_for_user(user=user)
    TokenFamily.objects.all().delete()

    response = _refresh(api_client, pair.refresh)

    assert response.status_code == 401
    assert OutstandingToken.objects.filter(user=user).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_yield_exactly_one_pair(user):
    pair = token_pair_for_user(user=user)
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    statuses, bodies = [], []
    lock = threading.Lock()

    def refresh_once():
        try:
            barrier.wait()
            response = _refresh(APIClient(), pair.refresh)
            with lock:
                statuses.append(response.status_code)
                bodies.append(response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh_once) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) == [200] + [401] * (threads_count - 1)
    [winner] = [body for body in bodies if "refresh_token" in body]
    new_jti = RefreshToken(winner["refresh_token"])["jti"]
    assert OutstandingToken.objects.filter(user=user).count() == 2
    family = TokenFamily.objects.get(user=user)
    assert family.current_jti == new_jti
    assert _blacklisted(pair.refresh["jti"])
    # The losers presented a token that had just been rotated out: that is reuse.
    assert family.revoked_reason == "reuse"


def test_a_refresh_token_without_a_family_is_refused(api_client, user):
    orphan = RefreshToken()
    orphan["sub"] = str(user.pk)

    response = _refresh(api_client, orphan)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"
    assert not TokenFamily.objects.exists()
