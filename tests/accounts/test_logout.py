import pytest
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.models import RevokedAccessToken, TokenFamily
from accounts.services import token_pair_for_user

pytestmark = pytest.mark.django_db

LOGOUT = "/api/v1/auth/logout"


def test_logout_revokes_the_access_and_refresh_tokens(client_for, user):
    client = client_for(user)
    pair = client.token_pair

    response = client.post(LOGOUT, {"refresh_token": str(pair.refresh)}, format="json")

    assert response.status_code == 204
    assert response.content == b""
    family = TokenFamily.objects.get(user=user)
    assert family.revoked_reason == "logout"
    assert family.revoked_at is not None
    assert BlacklistedToken.objects.filter(token__jti=pair.refresh["jti"]).exists()
    revoked = RevokedAccessToken.objects.get(jti=pair.access["jti"])
    assert revoked.user == user
    assert int(revoked.expires_at.timestamp()) == pair.access["exp"]

    me = client.get("/api/v1/me")
    assert me.status_code == 401
    assert me.json()["code"] == "token_revoked"
    refresh = client.post(
        "/api/v1/auth/refresh", {"refresh_token": str(pair.refresh)}, format="json"
    )
    assert refresh.status_code == 401
    assert refresh.json()["code"] == "invalid_refresh_token"


def test_logout_leaves_other_sessions_signed_in(client_for, user):
    client = client_for(user)
    other_session = client_for(user)

    client.post(LOGOUT, {"refresh_token": str(client.token_pair.refresh)}, format="json")

    assert other_session.get("/api/v1/me").status_code == 200
    other_family = TokenFamily.objects.get(pk=other_session.token_pair.refresh["fam"])
    assert other_family.revoked_at is None


def test_logout_with_someone_elses_refresh_token_revokes_nothing(client_for, user, other_user):
    client = client_for(user)
    theirs = token_pair_for_user(user=other_user)

    response = client.post(LOGOUT, {"refresh_token": str(theirs.refresh)}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"
    assert not TokenFamily.objects.exclude(revoked_at=None).exists()
    assert not RevokedAccessToken.objects.exists()
    assert not BlacklistedToken.objects.exists()
    assert client.get("/api/v1/me").status_code == 200


def test_logout_needs_an_access_token(api_client, user):
    pair = token_pair_for_user(user=user)

    response = api_client.post(LOGOUT, {"refresh_token": str(pair.refresh)}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert TokenFamily.objects.get(user=user).revoked_at is None


def test_logout_needs_a_refresh_token(client_for, user):
    client = client_for(user)

    response = client.post(LOGOUT, {}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "refresh_token"
    assert not RevokedAccessToken.objects.exists()
    assert TokenFamily.objects.get(user=user).revoked_at is None


def test_logout_twice_is_refused_the_second_time(client_for, user):
    client = client_for(user)
    body = {"refresh_token": str(client.token_pair.refresh)}
    client.post(LOGOUT, body, format="json")

    response = client.post(LOGOUT, body, format="json")

    assert response.status_code == 401
    assert RevokedAccessToken.objects.count() == 1
