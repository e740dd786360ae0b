import pytest
from django.conf import settings
from django.test import override_settings

from accounts.models import TokenFamily, User
from accounts.services import token_pair_for_user

pytestmark = pytest.mark.django_db

LIMITED = override_settings(
    REST_FRAMEWORK={
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": "3/min",
            "register": "3/min",
            "refresh": "3/min",
        },
    }
)


def _assert_throttled(response):
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 429
    assert body["code"] == "throttled"
    assert body["title"] == "Too Many Requests"


@LIMITED
def test_the_fourth_login_in_a_minute_is_throttled(api_client, user, password):
    attempts = [
        api_client.post(
            "/api/v1/auth/login", {"username": user.username, "password": "wrong"}, format="json"
        )
        for _ in range(3)
    ]

    response = api_client.post(
        "/api/v1/auth/login", {"username": user.username, "password": password}, format="json"
    )

    assert [a.status_code for a in attempts] == [401, 401, 401]
    _assert_throttled(response)
    assert "access_token" not in response.json()
    assert not TokenFamily.objects.exists()


@LIMITED
def test_login_throttle_counts_per_client_address(api_client, user, password):
    data = {"username": user.username, "password": password}
    for _ in range(3):
        api_client.post("/api/v1/auth/login", data, format="json")
    assert api_client.post("/api/v1/auth/login", data, format="json").status_code == 429

    response = api_client.post("/api/v1/auth/login", data, format="json", REMOTE_ADDR="10.0.0.2")

    assert response.status_code == 200
    assert TokenFamily.objects.filter(user=user).count() == 4


@LIMITED
def test_the_fourth_registration_in_a_minute_is_throttled(api_client, password):
    def register(n):
        return api_client.post(
            "/api/v1/auth/register",
            {"username": f"new{n}", "email": f"new{n}@example.com", "password": password},
            format="json",
        )

    statuses = [register(n).status_code for n in range(3)]

    response = register(3)

    assert statuses == [201, 201, 201]
    _assert_throttled(response)
    assert sorted(User.objects.values_list("username", flat=True)) == ["new0", "new1", "new2"]


@LIMITED
def test_the_fourth_refresh_in_a_minute_is_throttled(api_client, user):
    refresh = str(token_pair_for_user(user=user).refresh)
    for _ in range(3):
        response = api_client.post(
            "/api/v1/auth/refresh", {"refresh_token": refresh}, format="json"
        )
        assert response.status_code == 200
        refresh = response.json()["refresh_token"]
    family = TokenFamily.objects.get(user=user)

    response = api_client.post("/api/v1/auth/refresh", {"refresh_token": refresh}, format="json")

    _assert_throttled(response)
    after = TokenFamily.objects.get(user=user)
    assert (after.current_jti, after.revoked_at) == (family.current_jti, None)
