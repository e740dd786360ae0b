import pytest

pytestmark = pytest.mark.django_db


def test_register_login_me_flow(api_client, password):
    response = api_client.post(
        "/api/v1/auth/register",
        {"username": "alice", "email": "alice@example.com", "password": password},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert "password" not in response.json()

    response = api_client.post(
        "/api/v1/auth/login", {"username": "alice", "password": password}, format="json"
    )
    assert response.status_code == 200
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert api_client.get("/api/v1/me").json()["username"] == "alice"
