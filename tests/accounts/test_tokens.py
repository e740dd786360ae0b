"""Access-token verification: every forged, stale or misused token is a 401."""

import base64
import hashlib
import hmac
import itertools
import json
import uuid
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.models import TokenFamily
from accounts.services import token_pair_for_user
from accounts.tokens import AccessToken, token_backend
from config.keys import SigningKeys, public_jwk

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(obj: dict) -> str:
    return _b64(json.dumps(obj, separators=(",", ":")).encode())


def _claims(user, **overrides) -> dict:
    now = int(timezone.now().timestamp())
    claims = {
        "token_type": "access",
        "exp": now + 300,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "sub": str(user.pk),
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _sign(claims: dict, *, private_pem: str | None = None, headers=None) -> str:
    """Sign with PyJWT directly, bypassing the service's own encoder."""
    if headers is None:
        headers = {"kid": settings.SIGNING_KEYS.current_kid}
    return jwt.encode(
        claims,
        private_pem or settings.SIGNING_KEYS.private_pem,
        algorithm="RS256",
        headers=headers,
    )


def _get_me(api_client, token: str):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api_client.get(ME)


def _assert_refused(response, user):
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == 401
    assert body["code"] == "token_not_valid"
    assert "username" not in body
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    user.refresh_from_db()
    assert user.last_login is None


@pytest.fixture
def new_keys(tmp_path):
    """Make a fresh RSA key pair, trusting the given earlier public keys too."""
    folders = itertools.count()

    def make(previous: tuple[str, ...] = ()) -> SigningKeys:
        return SigningKeys.generate_into(tmp_path / f"keys{next(folders)}", previous=previous)

    return make


def test_a_well_formed_token_signed_outside_the_service_is_accepted(api_client, user):
    """The forgeries below differ from this token in one respect each."""
    response = _get_me(api_client, _sign(_claims(user)))

    assert response.status_code == 200
    assert response.json()["id"] == user.pk


def test_service_tokens_carry_kid_issuer_audience_and_rs256(user):
    pair = token_pair_for_user(user=user)

    header = jwt.get_unverified_header(str(pair.access))
    claims = jwt.decode(
        str(pair.access),
        settings.SIGNING_KEYS.public_pem,
        algorithms=["RS256"],
        audience=settings.JWT_AUDIENCE,
        issuer=settings.JWT_ISSUER,
    )

    assert header == {"alg": "RS256", "kid": settings.SIGNING_KEYS.current_kid, "typ": "JWT"}
    assert claims["exp"] - claims["iat"] == 900
    assert {"exp", "iat", "jti", "sub", "iss", "aud", "token_type", "fam"} <= set(claims)
    assert TokenFamily.objects.filter(pk=claims["fam"], user=user).exists()


def test_an_expired_access_token_is_refused(api_client, user):
    token = AccessToken()
    token["sub"] = str(user.pk)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1))

    _assert_refused(_get_me(api_client, str(token)), user)


def test_an_expired_token_signed_outside_is_refused(api_client, user):
    past = int(timezone.now().timestamp()) - 3600
    token = _sign(_claims(user, iat=past - 900, exp=past))

    _assert_refused(_get_me(api_client, token), user)


def test_a_tampered_payload_is_refused(api_client, user, other_user):
    header, payload, signature = str(token_pair_for_user(user=user).access).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = _segment({**claims, "sub": str(other_user.pk)})

    _assert_refused(_get_me(api_client, f"{header}.{forged}.{signature}"), user)
    other_user.refresh_from_db()
    assert other_user.last_login is None


def test_a_token_with_one_payload_character_changed_is_refused(api_client, user):
    header, payload, signature = _sign(_claims(user)).split(".")
    index = len(payload) // 2
    flipped = "A" if payload[index] != "A" else "B"
    payload = payload[:index] + flipped + payload[index + 1 :]

    _assert_refused(_get_me(api_client, f"{header}.{payload}.{signature}"), user)


def test_an_alg_none_token_is_refused(api_client, user):
    header = {"alg": "none", "typ": "JWT", "kid": settings.SIGNING_KEYS.current_kid}
    token = f"{_segment(header)}.{_segment(_claims(user))}."

    _assert_refused(_get_me(api_client, token), user)


def test_an_hs256_token_keyed_with_the_public_key_is_refused(api_client, user):
    """The algorithm-confusion attack: the public key used as an HMAC secret."""
    header = {"alg": "HS256", "typ": "JWT", "kid": settings.SIGNING_KEYS.current_kid}
    signing_input = f"{_segment(header)}.{_segment(_claims(user))}"
    secret = settings.SIGNING_KEYS.public_pem.encode()
    signature = _b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())

    _assert_refused(_get_me(api_client, f"{signing_input}.{signature}"), user)


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "some-other-api"},
        {"iss": "someone-else"},
        {"aud": None},
        {"iss": None},
        {"jti": None},
        {"exp": None},
        {"token_type": "refresh"},
    ],
    ids=["wrong-aud", "wrong-iss", "no-aud", "no-iss", "no-jti", "no-exp", "refresh-type"],
)
def test_a_token_with_wrong_or_missing_claims_is_refused(api_client, user, overrides):
    _assert_refused(_get_me(api_client, _sign(_claims(user, **overrides))), user)


def test_a_token_naming_an_unknown_kid_is_refused(api_client, user):
    token = _sign(_claims(user), headers={"kid": "not-a-known-key"})

    _assert_refused(_get_me(api_client, token), user)


def test_a_token_without_kid_is_refused(api_client, user):
    token = _sign(_claims(user), headers={})

    assert "kid" not in jwt.get_unverified_header(token)
    _assert_refused(_get_me(api_client, token), user)


def test_a_token_signed_by_an_untrusted_key_under_a_trusted_kid_is_refused(
    api_client, user, new_keys
):
    stranger = new_keys()

    token = _sign(_claims(user), private_pem=stranger.private_pem)

    _assert_refused(_get_me(api_client, token), user)


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_a_token_not_yet_valid_is_refused(api_client, user, claim):
    future = int(timezone.now().timestamp()) + 600
    token = _sign(_claims(user, **{claim: future}, exp=future + 900))

    _assert_refused(_get_me(api_client, token), user)


def test_a_refresh_token_is_not_an_access_token(api_client, user):
    pair = token_pair_for_user(user=user)

    _assert_refused(_get_me(api_client, str(pair.refresh)), user)
    family = TokenFamily.objects.get(user=user)
    assert family.current_jti == pair.refresh["jti"]
    assert family.revoked_at is None


def test_an_access_token_is_not_a_refresh_token(api_client, user):
    pair = token_pair_for_user(user=user)

    response = api_client.post(
        "/api/v1/auth/refresh", {"refresh_token": str(pair.access)}, format="json"
    )

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"
    assert "access_token" not in response.json()
    assert TokenFamily.objects.get(user=user).current_jti == pair.refresh["jti"]
    assert not BlacklistedToken.objects.exists()


def test_a_malformed_authorization_header_is_refused(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer two parts")

    response = api_client.get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "bad_authorization_header"
    user.refresh_from_db()
    assert user.last_login is None


def test_unverified_decoding_is_not_offered(user):
    token = str(token_pair_for_user(user=user).access)

    with pytest.raises(TokenBackendError):
        token_backend().decode(token, verify=False)
    assert TokenFamily.objects.filter(user=user).count() == 1


# Key rotation


def test_tokens_signed_with_the_previous_key_verify_after_rotation(api_client, user, new_keys):
    old = new_keys()
    with override_settings(SIGNING_KEYS=old):
        pair = token_pair_for_user(user=user)
        # str() signs, so the strings must be made while the old key is current.
        access, refresh = str(pair.access), str(pair.refresh)
    assert jwt.get_unverified_header(access)["kid"] == old.current_kid
    new = new_keys(previous=(old.public_pem,))

    with override_settings(SIGNING_KEYS=new):
        me = _get_me(api_client, access)
        refreshed = api_client.post(
            "/api/v1/auth/refresh", {"refresh_token": refresh}, format="json"
        )

    assert me.status_code == 200
    assert me.json()["id"] == user.pk
    assert refreshed.status_code == 200, refreshed.json()
    new_access = refreshed.json()["access_token"]
    assert jwt.get_unverified_header(new_access)["kid"] == new.current_kid
    assert TokenFamily.objects.get(user=user).current_jti != pair.refresh["jti"]


def test_tokens_signed_with_a_retired_key_are_refused(api_client, user, new_keys):
    old = new_keys()
    with override_settings(SIGNING_KEYS=old):
        pair = token_pair_for_user(user=user)
        access, refresh = str(pair.access), str(pair.refresh)

    with override_settings(SIGNING_KEYS=new_keys()):
        me = _get_me(api_client, access)
        refreshed = api_client.post(
            "/api/v1/auth/refresh", {"refresh_token": refresh}, format="json"
        )

    _assert_refused(me, user)
    assert refreshed.status_code == 401
    assert TokenFamily.objects.get(user=user).current_jti == pair.refresh["jti"]


def test_jwks_publishes_the_current_and_previous_public_keys(api_client, new_keys):
    old = new_keys()
    new = new_keys(previous=(old.public_pem,))

    with override_settings(SIGNING_KEYS=new):
        response = api_client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    keys = response.json()["keys"]
    assert [key["kid"] for key in keys] == [new.current_kid, old.current_kid]
    assert keys == [public_jwk(new.public_pem), public_jwk(old.public_pem)]
    for key in keys:
        assert set(key) == {"kty", "n", "e", "kid", "use", "alg"}
        assert (key["kty"], key["use"], key["alg"]) == ("RSA", "sig", "RS256")
    assert "public" in response["Cache-Control"]
    assert not TokenFamily.objects.exists()


def test_jwks_keys_verify_the_service_tokens(api_client, user):
    keys = api_client.get("/.well-known/jwks.json").json()["keys"]
    token = str(token_pair_for_user(user=user).access)
    kid = jwt.get_unverified_header(token)["kid"]

    [jwk] = [key for key in keys if key["kid"] == kid]
    claims = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["RS256"],
        audience=settings.JWT_AUDIENCE,
        issuer=settings.JWT_ISSUER,
    )
    assert claims["sub"] == str(user.pk)
    assert TokenFamily.objects.filter(pk=claims["fam"]).exists()
