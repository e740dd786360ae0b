"""Operators see and revoke a user's sessions (token families) in one place; simplejwt's own
token tables, which revoke nothing by themselves, are not in the admin."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import TokenFamily
from accounts.services import token_pair_for_user
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SESSIONS = "/admin/accounts/tokenfamily/"


def refresh(api_client, pair):
    return api_client.post(
        "/api/v1/auth/refresh", {"refresh_token": str(pair.refresh)}, format="json"
    )


def family_of(pair) -> TokenFamily:
    return TokenFamily.objects.get(pk=pair.refresh["fam"])


@pytest.mark.parametrize("model", [OutstandingToken, BlacklistedToken])
def test_simplejwts_token_tables_are_not_in_the_admin(admin_client, model):
    response = admin_client.get(f"/admin/token_blacklist/{model._meta.model_name}/")

    assert not admin.site.is_registered(model)
    assert response.status_code == 404


def test_revoking_a_session_makes_its_refresh_token_unusable(admin_client, api_client, user):
    pair = token_pair_for_user(user=user)
    other = token_pair_for_user(user=user)
    family = family_of(pair)

    response = admin_client.post(SESSIONS, {"action": "revoke", "_selected_action": [family.pk]})
    refused = refresh(api_client, pair)
    kept = refresh(api_client, other)

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Revoked 1 session(s)."]
    family.refresh_from_db()
    assert family.revoked_at is not None
    assert family.revoked_reason == "admin"
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_refresh_token"
    # The user's other session goes on.
    assert kept.status_code == 200
    assert family_of(other).revoked_at is None


def test_revoking_an_already_revoked_session_keeps_its_reason(admin_client, user):
    family = family_of(token_pair_for_user(user=user))
    TokenFamily.objects.filter(pk=family.pk).update(
        revoked_at=timezone.now(), revoked_reason="logout"
    )

    response = admin_client.post(SESSIONS, {"action": "revoke", "_selected_action": [family.pk]})

    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Revoked 0 session(s)."]
    family.refresh_from_db()
    assert family.revoked_reason == "logout"


def test_sessions_are_listed_by_state(admin_client, user):
    active = family_of(token_pair_for_user(user=user))
    revoked = family_of(token_pair_for_user(user=user))
    expired = family_of(token_pair_for_user(user=user))
    TokenFamily.objects.filter(pk=revoked.pk).update(
        revoked_at=timezone.now(), revoked_reason="reuse"
    )
    TokenFamily.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    listed = {
        state: list(admin_client.get(SESSIONS, {"state": state}).context["cl"].result_list)
        for state in ("active", "revoked", "expired")
    }
    page = admin_client.get(SESSIONS).content.decode()

    assert listed == {"active": [active], "revoked": [revoked], "expired": [expired]}
    assert "revoked (reuse)" in page
    assert '<td class="field-state">expired</td>' in page


def test_the_user_page_links_to_their_sessions(admin_client, user):
    token_pair_for_user(user=user)
    token_pair_for_user(user=user)
    token_pair_for_user(user=UserFactory())

    page = admin_client.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()
    listed = admin_client.get(SESSIONS, {"user__id__exact": user.pk, "state": "active"})

    link = f'href="{SESSIONS}?user__id__exact={user.pk}&amp;state=active">2 active</a>'
    assert link in page
    assert listed.status_code == 200
    assert {family.user for family in listed.context["cl"].result_list} == {user}
    assert listed.context["cl"].result_count == 2
