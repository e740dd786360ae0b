"""OWASP API2:2023 Broken Authentication.

Each way a credential can be forged, stale or misused is tried here against reads and
writes across the API (not one endpoint): every one is a 401 problem with
`WWW-Authenticate`, and nothing is written. The token mechanics in detail live in
tests/accounts: test_tokens.py (each forgery against /me, key rotation, JWKS),
test_refresh.py (rotation, reuse detection revoking the family, concurrent refreshes),
test_logout.py, test_blocklist.py (the revoked-token list, including Redis down: the
database still refuses a revoked token), test_me.py (deactivated and deleted users),
test_login.py (failures look alike) and test_throttling.py (per-address limits).
"""

import hashlib
import hmac
import uuid

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from accounts.models import TokenFamily
from accounts.services import token_pair_for_user
from comments.models import Comment
from config.keys import SigningKeys
from issues.models import Issue
from projects.models import Project
from tests.accounts.test_tokens import _b64, _claims, _segment, _sign
from tests.factories import CommentFactory, IssueFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def targets(project, owner):
    """Requests the owner could make with a valid token: reads and writes of each kind."""
    issue = IssueFactory(project=project, reporter=owner)
    comment = CommentFactory(issue=issue, author=owner)
    refresh = str(token_pair_for_user(user=owner).refresh)
    return [
        ("get", "/api/v1/me", None),
        ("get", "/api/v1/projects", None),
        ("get", f"/api/v1/projects/{project.key}/permissions/me", None),
        ("get", f"/api/v1/issues/{issue.key}/events", None),
        ("post", "/api/v1/projects", {"key": "FORGED", "name": "Forged"}),
        ("patch", f"/api/v1/issues/{issue.key}", {"title": "forged"}),
        ("post", f"/api/v1/issues/{issue.key}/status", {"status": "closed", "comment": "x"}),
        ("post", f"/api/v1/issues/{issue.key}/comments", {"body": "forged"}),
        ("delete", f"/api/v1/comments/{comment.pk}", None),
        ("post", "/api/v1/auth/logout", {"refresh_token": refresh}),
    ]


def snapshot():
    return (
        list(Project.objects.values_list("key", "name")),
        list(Issue.objects.values_list("title", "status")),
        list(Comment.objects.values_list("body", flat=True)),
        list(TokenFamily.objects.values_list("pk", "revoked_at")),
    )


def assert_all_refused(client, targets, codes=("token_not_valid", "user_not_found")):
    before = snapshot()
    for method, url, body in targets:
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 401, (method, url, response.content)
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] in codes, (url, response.json())
    assert snapshot() == before


def bearer(api_client, token):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api_client


def _hs256_with_public_key(owner):
    header = {"alg": "HS256", "typ": "JWT", "kid": settings.SIGNING_KEYS.current_kid}
    signing_input = f"{_segment(header)}.{_segment(_claims(owner))}"
    secret = settings.SIGNING_KEYS.public_pem.encode()
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _tampered(owner, other):
    """A genuine token of `other`, its payload rewritten to name `owner`."""
    header, _, signature = str(token_pair_for_user(user=other).access).split(".")
    return f"{header}.{_segment(_claims(owner))}.{signature}"


def _stranger_key(owner, tmp_path):
    stranger = SigningKeys.generate_into(tmp_path / "stranger")
    return _sign(_claims(owner), private_pem=stranger.private_pem)


def _now() -> int:
    # When the token is made, not when the module was collected: a long run outlasts minutes.
    return int(timezone.now().timestamp())


FORGERIES = {
    "alg none": lambda owner, **_: (
        f"{_segment({'alg': 'none', 'kid': settings.SIGNING_KEYS.current_kid})}."
        f"{_segment(_claims(owner))}."
    ),
    "HS256 signed with the public key": lambda owner, **_: _hs256_with_public_key(owner),
    "tampered payload": lambda owner, other, **_: _tampered(owner, other),
    "expired": lambda owner, **_: _sign(_claims(owner, iat=_now() - 3600, exp=_now() - 60)),
    "not yet valid (nbf)": lambda owner, **_: _sign(
        _claims(owner, nbf=_now() + 600, exp=_now() + 900)
    ),
    "issued in the future": lambda owner, **_: _sign(
        _claims(owner, iat=_now() + 600, exp=_now() + 900)
    ),
    "wrong issuer": lambda owner, **_: _sign(_claims(owner, iss="someone-else")),
    "wrong audience": lambda owner, **_: _sign(_claims(owner, aud="another-api")),
    "unknown kid": lambda owner, **_: _sign(_claims(owner), headers={"kid": "not-ours"}),
    "untrusted key under our kid": lambda owner, tmp_path, **_: _stranger_key(owner, tmp_path),
    "refresh token as access token": lambda owner, **_: str(
        token_pair_for_user(user=owner).refresh
    ),
    "no such user": lambda owner, **_: _sign(_claims(owner, sub="999999")),
    "garbage": lambda owner, **_: "not.a.token",
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_and_stale_tokens_are_refused_everywhere(
    api_client, targets, owner, other_user, tmp_path, forgery
):
    token = FORGERIES[forgery](owner=owner, other=other_user, tmp_path=tmp_path)
    assert_all_refused(bearer(api_client, token), targets)


def test_a_well_formed_token_opens_every_target(client_for, targets, owner):
    """The control: the targets above answer the owner's real token."""
    client = client_for(owner)
    for method, url, body in targets[:4]:
        assert getattr(client, method)(url, body, format="json").status_code == 200, url


def test_a_logged_out_access_token_is_refused_everywhere(client_for, owner, targets):
    client = client_for(owner)
    logout = client.post(
        "/api/v1/auth/logout",
        {"refresh_token": str(client.token_pair.refresh)},
        format="json",
    )
    assert logout.status_code == 204
    assert_all_refused(client, targets, codes=("token_revoked",))


def test_a_user_deactivated_after_the_token_was_issued_is_refused(client_for, owner, targets):
    client = client_for(owner)
    assert client.get("/api/v1/me").status_code == 200
    owner.is_active = False
    owner.save()  # the admin's way; see tests/accounts/test_me.py for a bypassing update
    assert_all_refused(client, targets, codes=("user_inactive",))


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Bearer a b", "Basic YWxpY2U6cGFzcw==", "Token abc", "bearer"],
)
def test_missing_or_malformed_credentials_are_refused(api_client, targets, header):
    if header:
        api_client.credentials(HTTP_AUTHORIZATION=header)
    assert_all_refused(
        api_client, targets, codes=("not_authenticated", "bad_authorization_header")
    )


def test_an_access_token_is_not_a_refresh_token(api_client, owner):
    pair = token_pair_for_user(user=owner)
    response = api_client.post(
        "/api/v1/auth/refresh", {"refresh_token": str(pair.access)}, format="json"
    )
    assert response.json()["code"] == "invalid_refresh_token"
    assert TokenFamily.objects.get(user=owner).current_jti == pair.refresh["jti"]


def test_a_reused_refresh_token_revokes_its_family(api_client, owner):
    pair = token_pair_for_user(user=owner)
    body = {"refresh_token": str(pair.refresh)}
    first = api_client.post("/api/v1/auth/refresh", body, format="json")
    assert first.status_code == 200
    replay = api_client.post("/api/v1/auth/refresh", body, format="json")
    assert replay.status_code == 401
    rotated = {"refresh_token": first.json()["refresh_token"]}
    assert api_client.post("/api/v1/auth/refresh", rotated, format="json").status_code == 401
    assert TokenFamily.objects.get(user=owner).revoked_reason == "reuse"


LIMITED = override_settings(
    REST_FRAMEWORK={
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": "5/min",
        },
    }
)


@LIMITED
def test_password_guessing_is_throttled_across_usernames(api_client, owner, other_user, password):
    """Guesses against many accounts from one address share one limit; once over it, even
    the right password gets a 429 and no token, so it tells the guesser nothing."""
    guesses = [
        api_client.post(
            "/api/v1/auth/login",
            {"username": user.username, "password": f"guess-{n}"},
            format="json",
        ).status_code
        for n, user in enumerate([owner, other_user, owner, other_user, owner])
    ]
    assert guesses == [401] * 5
    right = api_client.post(
        "/api/v1/auth/login", {"username": owner.username, "password": password}, format="json"
    )
    wrong = api_client.post(
        "/api/v1/auth/login", {"username": owner.username, "password": "x"}, format="json"
    )
    for response in (right, wrong):
        assert response.status_code == 429
        assert 0 < int(response["Retry-After"]) <= 60
        assert response.json()["code"] == "throttled"
    assert "access_token" not in right.json()
    assert not TokenFamily.objects.exists()


def test_unknown_users_and_wrong_passwords_look_alike(api_client, owner):
    answers = [
        api_client.post("/api/v1/auth/login", body, format="json")
        for body in (
            {"username": owner.username, "password": "wrong"},
            {"username": f"nobody-{uuid.uuid4().hex}", "password": "wrong"},
            {"email": owner.email, "password": "wrong"},
        )
    ]
    assert {r.status_code for r in answers} == {401}
    assert len({(r.json()["code"], r.json()["detail"]) for r in answers}) == 1
