import threading

import pytest
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection
from django.test import override_settings
from rest_framework.test import APIClient

from accounts import serializers, services
from accounts.models import User
from config.settings import base
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register"


def _register(client, **fields):
    data = {"username": "alice", "email": "alice@example.com", "password": "a long passphrase"}
    return client.post(REGISTER, {**data, **fields}, format="json")


def _error_fields(response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


def test_register_returns_the_user_without_password(api_client):
    response = _register(api_client, display_name="Alice A.")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"id", "username", "email", "display_name", "role", "date_joined"}
    assert body["username"] == "alice"
    assert body["email"] == "alice@example.com"
    assert body["role"] == "user"
    assert "a long passphrase" not in response.content.decode()
    user = User.objects.get(pk=body["id"])
    assert user.display_name == "Alice A."
    assert user.check_password("a long passphrase")
    assert user.password not in response.content.decode()


@pytest.mark.parametrize(
    ("existing", "sent", "field"),
    [
        ({"username": "alice", "email": "other@example.com"}, {"username": "Alice"}, "username"),
        ({"username": "ALICE", "email": "other@example.com"}, {"username": "alice"}, "username"),
        ({"email": "a@x.io"}, {"email": "A@X.io"}, "email"),
        ({"email": "A@X.IO"}, {"email": "a@x.io"}, "email"),
    ],
)
def test_register_refuses_a_taken_username_or_email_ignoring_case(
    api_client, existing, sent, field
):
    UserFactory(**existing)

    response = _register(api_client, **sent)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert _error_fields(response) == {field}
    assert body["errors"][0]["code"] == "unique"
    assert User.objects.count() == 1


@pytest.mark.parametrize("weak", ["password", "12345678", "short", "alice-example"])
def test_register_refuses_a_weak_password(api_client, weak):
    response = _register(api_client, username="alice-example", password=weak)

    assert response.status_code == 400
    assert _error_fields(response) == {"password"}
    assert response.json()["detail"] == "Invalid input in: password."
    assert not User.objects.exists()


def test_register_requires_username_email_and_password(api_client):
    response = api_client.post(REGISTER, {}, format="json")

    assert response.status_code == 400
    assert _error_fields(response) == {"username", "email", "password"}
    assert {e["code"] for e in response.json()["errors"]} == {"required"}
    assert not User.objects.exists()


def test_register_refuses_an_at_sign_in_the_username(api_client):
    response = _register(api_client, username="alice@example.com")

    assert response.status_code == 400
    assert _error_fields(response) == {"username"}
    assert not User.objects.exists()


def test_register_cannot_choose_role_or_flags(api_client):
    response = _register(
        api_client, role="admin", is_staff=True, is_superuser=True, is_active=False
    )

    assert response.status_code == 201
    assert response.json()["role"] == "user"
    user = User.objects.get(username="alice")
    assert user.role == User.SiteRole.USER
    assert (user.is_staff, user.is_superuser, user.is_active) == (False, False, True)
    assert not user.is_site_admin


@override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS)
def test_register_stores_the_password_as_argon2id(api_client):
    response = _register(api_client)

    assert response.status_code == 201
    user = User.objects.get(username="alice")
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password("a long passphrase")


@override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS)
def test_a_pbkdf2_hash_still_verifies_and_is_upgraded_on_login(api_client, password):
    user = UserFactory()
    user.password = make_password(password, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])

    response = api_client.post(
        "/api/v1/auth/login", {"username": user.username, "password": password}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["token_type"] == "Bearer"
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")


@pytest.fixture
def no_early_uniqueness_checks(monkeypatch):
    """Let requests through the up-front checks, as when another request wins a race."""
    monkeypatch.setattr(serializers, "_unique_ci", lambda field, value, *args: value)
    monkeypatch.setattr(User, "full_clean", lambda self, *args, **kwargs: None)


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        ({"username": "ALICE", "email": "new@example.com"}, "username"),
        ({"email": "A@X.io"}, "email"),
    ],
)
def test_losing_a_registration_race_is_a_400(api_client, no_early_uniqueness_checks, sent, field):
    UserFactory(username="alice", email="a@x.io")

    response = _register(api_client, **{"username": "bob", **sent})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": field, "message": f"A user with that {field} already exists.", "code": "unique"}
    ]
    assert User.objects.count() == 1


def test_losing_an_email_race_on_update_is_a_400(client_for, user, no_early_uniqueness_checks):
    UserFactory(email="taken@example.com")

    response = client_for(user).patch("/api/v1/me", {"email": "TAKEN@example.com"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "email"
    user.refresh_from_db()
    assert user.email != "TAKEN@example.com"


def test_other_integrity_errors_are_not_disguised(monkeypatch):
    def fail(self, *args, **kwargs):
        raise IntegrityError("something else")

    monkeypatch.setattr(User, "save", fail)

    with pytest.raises(IntegrityError):
        services.user_register(
            username="carol", email="carol@example.com", password="a long passphrase"
        )
    assert not User.objects.filter(username="carol").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_one_username_create_one_user():
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    responses = []
    lock = threading.Lock()

    def register(n):
        try:
            barrier.wait()
            response = _register(APIClient(), username="Racer", email=f"racer{n}@example.com")
            with lock:
                responses.append(response)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(r.status_code for r in responses) == [201] + [400] * (threads_count - 1)
    for response in responses:
        if response.status_code == 400:
            assert _error_fields(response) == {"username"}
    assert User.objects.filter(username__iexact="racer").count() == 1
