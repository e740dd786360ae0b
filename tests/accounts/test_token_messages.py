"""A refused bearer token says in plain words what is wrong and what to do."""

import pytest
from django.utils import timezone

from accounts.services import token_pair_for_user
from config.keys import SigningKeys
from tests.accounts.test_tokens import _claims, _sign

pytestmark = pytest.mark.django_db


def _me(api_client, token: str):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api_client.get("/api/v1/me")


def _refusal(response) -> str:
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "token_not_valid"
    assert "not valid for any token type" not in body["detail"]
    return body["detail"]


@pytest.mark.parametrize("token", ["abc", "not-a-jwt-at-all", "a.b", "a.b.c.d"])
def test_a_malformed_token_is_called_malformed(api_client, token):
    detail = _refusal(_me(api_client, token))

    assert detail.startswith("The bearer token is malformed")
    assert "/api/v1/auth/login" in detail


def test_an_expired_token_says_to_refresh(api_client, user):
    past = int(timezone.now().timestamp()) - 3600
    detail = _refusal(_me(api_client, _sign(_claims(user, iat=past - 60, exp=past))))

    assert detail.startswith("The access token has expired")
    assert "/api/v1/auth/refresh" in detail


def test_a_refresh_token_sent_as_access_token_is_named(api_client, user):
    refresh = str(token_pair_for_user(user=user).refresh)

    detail = _refusal(_me(api_client, refresh))

    assert detail == "This is not an access token: send the access_token, not the refresh_token."


def test_a_token_from_another_signer_is_not_accepted(api_client, user, tmp_path):
    stranger = SigningKeys.generate_into(tmp_path / "keys")

    detail = _refusal(_me(api_client, _sign(_claims(user), private_pem=stranger.private_pem)))

    assert detail.startswith("The access token was not accepted")


def test_a_three_part_token_that_is_not_json_is_not_accepted(api_client):
    detail = _refusal(_me(api_client, "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln"))

    assert detail.startswith("The access token was not accepted")
