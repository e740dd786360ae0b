"""Operators list tokens (never secrets or hashes) and revoke them in the admin."""

import pytest

from accounts.models import PersonalAccessToken, TokenEvent
from accounts.services import pat_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_admin_lists_and_revokes_tokens(client, site_admin):
    token, secret = pat_create(user=UserFactory(), name="ci", scopes=["read"])
    client.force_login(site_admin)
    url = "/admin/accounts/personalaccesstoken/"

    page = client.get(url).content.decode()
    detail = client.get(f"{url}{token.pk}/change/").content.decode()
    response = client.post(url, {"action": "revoke", "_selected_action": [token.pk]})

    assert token.prefix in page and secret not in page
    assert token.token_hash not in detail and secret not in detail
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert TokenEvent.objects.get(token=token, kind="revoked").actor == site_admin
    assert PersonalAccessToken.objects.count() == 1
