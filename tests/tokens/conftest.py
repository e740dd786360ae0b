import pytest
from rest_framework.test import APIClient

from accounts.services import pat_create


@pytest.fixture
def pat_client():
    """An API client holding a new personal access token of `user`; the token and its
    secret ride along as `client.token` and `client.secret`."""

    def make(user, scopes, projects=None, **kwargs):
        token, secret = pat_create(
            user=user, name="script", scopes=scopes, projects=projects, **kwargs
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        client.token, client.secret = token, secret
        return client

    return make
