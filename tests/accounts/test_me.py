import pytest

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


def _snapshot(user: User) -> dict:
    user.refresh_from_db()
    return {
        field: getattr(user, field)
        for field in (
            "username",
            "email",
            "display_name",
            "role",
            "is_staff",
            "is_active",
            "is_superuser",
            "password",
        )
    }


def test_me_shows_the_signed_in_user(client_for, user):
    response = client_for(user).get(ME)

    assert response.status_code == 200
    assert response.json() == {
        "id": user.pk,
        "username": user.username,
        "email": user.email,
        "display_name": user.display_name,
        "role": "user",
        "date_joined": response.json()["date_joined"],
    }
    assert User.objects.get(pk=user.pk).username == response.json()["username"]


def test_me_changes_email_and_display_name(client_for, user):
    response = client_for(user).patch(
        ME, {"email": "new@example.com", "display_name": "New Name"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["email"] == "new@example.com"
    assert response.json()["display_name"] == "New Name"
    user.refresh_from_db()
    assert (user.email, user.display_name) == ("new@example.com", "New Name")


def test_me_may_change_the_case_of_its_own_email(client_for, user):
    response = client_for(user).patch(ME, {"email": user.email.upper()}, format="json")

    assert response.status_code == 200, response.json()
    user.refresh_from_db()
    assert user.email == response.json()["email"]
    # Django normalizes the domain part to lower case.
    assert user.email == user.username.upper() + "@example.com"


@pytest.mark.parametrize(
    "change",
    [
        {"role": "admin"},
        {"is_staff": True},
        {"is_superuser": True},
        {"is_active": False},
        {"username": "renamed"},
        {"password": "another long passphrase"},
        {"id": 9999},
    ],
)
def test_me_cannot_change_role_flags_or_username(client_for, user, change):
    before = _snapshot(user)

    response = client_for(user).patch(ME, change, format="json")

    assert response.status_code == 200
    assert response.json()["role"] == "user"
    assert response.json()["username"] == before["username"]
    assert _snapshot(user) == before


@pytest.mark.parametrize("taken", ["Taken@Example.com", "taken@example.com", "TAKEN@EXAMPLE.COM"])
def test_me_cannot_take_another_users_email(client_for, user, taken):
    UserFactory(email="taken@example.com")
    before = _snapshot(user)

    response = client_for(user).patch(ME, {"email": taken}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "email", "message": "A user with that email already exists.", "code": "unique"}
    ]
    assert _snapshot(user) == before


def test_me_refuses_an_invalid_email(client_for, user):
    before = _snapshot(user)

    response = client_for(user).patch(ME, {"email": "not-an-email"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "email"
    assert _snapshot(user) == before


def test_me_cannot_be_replaced_or_deleted(client_for, user):
    client = client_for(user)
    before = _snapshot(user)

    put = client.put(ME, {"email": "x@example.com"}, format="json")
    delete = client.delete(ME)

    assert put.status_code == delete.status_code == 405
    assert delete.json()["code"] == "method_not_allowed"
    assert _snapshot(user) == before


def _deactivate_by_saving(user):
    user.is_active = False
    user.save()  # as the admin and the services do: drops the user's cached copy at once


def _deactivate_by_query(user):
    User.objects.filter(pk=user.pk).update(is_active=False)  # no model, no signal


@pytest.mark.parametrize(
    "deactivate, cache_seconds",
    [
        (_deactivate_by_saving, 60),
        # A change that bypasses the model is seen once the cached copy (if any) expires.
        (_deactivate_by_query, 0),
    ],
)
def test_a_user_deactivated_after_login_is_refused(
    client_for, user, settings, deactivate, cache_seconds
):
    settings.TOKEN_BLOCKLIST_USE_CACHE = True  # as with Redis
    settings.AUTH_USER_CACHE_SECONDS = cache_seconds
    client = client_for(user)
    assert client.get(ME).status_code == 200  # caches the user, when cache_seconds
    deactivate(user)

    response = client.get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "user_inactive"
    assert "username" not in response.json()


def test_a_deleted_user_is_refused(client_for, user):
    client = client_for(user)
    User.objects.filter(pk=user.pk).delete()

    response = client.get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "user_not_found"
    assert not User.objects.exists()
