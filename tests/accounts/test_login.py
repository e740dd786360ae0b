import pytest
from django.contrib.auth import authenticate
from django.test import Client
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import TokenFamily, User
from accounts.tokens import AccessToken, RefreshToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"


@pytest.fixture
def alice(db):
    return UserFactory(username="Alice", email="Alice@Example.com")


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "Alice"},
        {"username": "alice"},
        {"username": "ALICE"},
        {"username": "alice@example.com"},
        {"username": "ALICE@EXAMPLE.COM"},
        {"email": "alice@EXAMPLE.com"},
    ],
)
def test_login_with_username_or_email_in_any_case(api_client, alice, password, credentials):
    response = api_client.post(LOGIN, {**credentials, "password": password}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    access = AccessToken(body["access_token"])
    refresh = RefreshToken(body["refresh_token"])
    assert access["sub"] == refresh["sub"] == str(alice.pk)
    family = TokenFamily.objects.get(user=alice)
    assert refresh["fam"] == access["fam"] == str(family.pk)
    assert family.current_jti == refresh["jti"]
    assert family.revoked_at is None
    assert OutstandingToken.objects.filter(user=alice, jti=refresh["jti"]).exists()
    alice.refresh_from_db()
    assert alice.last_login is not None


def test_login_tokens_open_the_api(api_client, alice, password):
    tokens = api_client.post(
        LOGIN, {"username": "alice", "password": password}, format="json"
    ).json()

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    response = api_client.get("/api/v1/me")

    assert response.status_code == 200
    assert response.json()["username"] == "Alice"


def test_each_login_starts_its_own_family(api_client, alice, password):
    for _ in range(2):
        api_client.post(LOGIN, {"username": "alice", "password": password}, format="json")

    assert TokenFamily.objects.filter(user=alice, revoked_at=None).count() == 2


def test_login_failures_all_look_the_same(api_client, alice, password):
    UserFactory(username="sleeper", is_active=False)
    attempts = {
        "wrong password": {"username": "alice", "password": "not the password"},
        "unknown user": {"username": "nobody", "password": password},
        "unknown email": {"username": "nobody@example.com", "password": password},
        "inactive user": {"username": "sleeper", "password": password},
    }

    responses = {
        name: api_client.post(LOGIN, data, format="json") for name, data in attempts.items()
    }

    bodies = {name: response.json() for name, response in responses.items()}
    assert {r.status_code for r in responses.values()} == {401}
    assert bodies["wrong password"] == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": "Invalid credentials.",
        "code": "invalid_credentials",
        "instance": LOGIN,
    }
    assert all(body == bodies["wrong password"] for body in bodies.values())
    assert {r["WWW-Authenticate"] for r in responses.values()} == {'Bearer realm="api"'}
    assert not TokenFamily.objects.exists()
    assert not OutstandingToken.objects.exists()
    alice.refresh_from_db()
    assert alice.last_login is None


def test_login_needs_a_username_or_email(api_client, password):
    response = api_client.post(LOGIN, {"password": password}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "username"
    assert not TokenFamily.objects.exists()


def test_session_login_for_the_browsable_api_takes_any_case(alice, password):
    client = Client()

    response = client.post(
        "/api/v1/session/login/", {"username": "ALICE@example.com", "password": password}
    )

    assert response.status_code == 302
    assert response["Location"] == "/api/v1/"
    me = client.get("/api/v1/me", HTTP_ACCEPT="application/json")
    assert me.status_code == 200
    assert me.json()["id"] == alice.pk
    alice.refresh_from_db()
    assert alice.last_login is not None


def test_session_writes_need_the_csrf_token(alice, password):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.patch(
        "/api/v1/me", {"display_name": "Changed"}, content_type="application/json"
    )

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    alice.refresh_from_db()
    assert alice.display_name != "Changed"


def test_the_backend_needs_a_login_and_a_password(alice, password):
    assert authenticate(None, username="alice") is None
    assert authenticate(None, password=password) is None
    assert authenticate(None, email="alice@example.com", password=password) == alice


def test_natural_keys_ignore_case(alice):
    assert User.objects.get_by_natural_key("aLiCe") == alice


def test_a_superuser_is_a_site_admin(db, password):
    admin = User.objects.create_superuser("root", "root@example.com", password)

    admin.refresh_from_db()
    assert admin.role == User.SiteRole.ADMIN
    assert admin.is_site_admin
    assert str(admin) == "root"


def test_token_pairs_are_never_stored_by_a_cache(api_client, alice, password):
    """RFC 6749 (5.1): answers carrying tokens are `no-store`, not the API's `no-cache`."""
    login = api_client.post(LOGIN, {"username": "alice", "password": password}, format="json")
    refresh = api_client.post(
        "/api/v1/auth/refresh", {"refresh_token": login.json()["refresh_token"]}, format="json"
    )

    for response in (login, refresh):
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store"
        assert "access_token" in response.json()
