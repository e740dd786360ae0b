import pytest
from django.contrib.messages import get_messages
from django.test import Client

from accounts.models import TokenFamily, User
from accounts.services import token_pair_for_user

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/user/"


@pytest.fixture
def admin_client(site_admin):
    client = Client()
    client.force_login(site_admin)
    return client


def test_revoke_tokens_action_signs_the_selected_users_out(admin_client, user, other_user):
    for _ in range(2):
        token_pair_for_user(user=user)
    kept = token_pair_for_user(user=other_user)

    response = admin_client.post(
        CHANGELIST, {"action": "revoke_tokens", "_selected_action": [user.pk]}
    )

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Revoked 2 token families."]
    revoked = TokenFamily.objects.filter(user=user)
    assert revoked.count() == 2
    assert {(f.revoked_reason, f.revoked_at is not None) for f in revoked} == {("admin", True)}
    assert TokenFamily.objects.get(pk=kept.refresh["fam"]).revoked_at is None


def test_revoked_users_cannot_refresh(admin_client, api_client, user):
    pair = token_pair_for_user(user=user)
    admin_client.post(CHANGELIST, {"action": "revoke_tokens", "_selected_action": [user.pk]})

    response = api_client.post(
        "/api/v1/auth/refresh", {"refresh_token": str(pair.refresh)}, format="json"
    )

    assert response.status_code == 401
    assert TokenFamily.objects.get(user=user).revoked_reason == "admin"


def test_revoke_tokens_action_is_for_staff_only(client_for, user):
    token_pair_for_user(user=user)
    client = Client()
    client.force_login(user)

    response = client.post(CHANGELIST, {"action": "revoke_tokens", "_selected_action": [user.pk]})

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert TokenFamily.objects.get(user=user).revoked_at is None


def test_admin_lists_users_and_token_families(admin_client, user):
    token_pair_for_user(user=user)

    users = admin_client.get(CHANGELIST)
    families = admin_client.get("/admin/accounts/tokenfamily/")
    revoked = admin_client.get("/admin/accounts/revokedaccesstoken/")

    assert users.status_code == families.status_code == revoked.status_code == 200
    assert user.username in users.content.decode()
    assert user.username in families.content.decode()
    assert admin_client.get("/admin/accounts/tokenfamily/add/").status_code == 403
    assert admin_client.get("/admin/accounts/revokedaccesstoken/add/").status_code == 403
    assert TokenFamily.objects.count() == 1


def test_admin_refuses_a_username_or_email_taken_in_another_case(admin_client, user, password):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "username": user.username.upper(),
            "email": user.email.upper(),
            "password1": password,
            "password2": password,
            "usable_password": "true",
        },
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors.as_data()
    messages = {e.message for errs in errors.values() for e in errs}
    assert messages == {
        "A user with that username already exists.",
        "A user with that email already exists.",
    }
    assert not User.objects.filter(username=user.username.upper()).exists()


def test_admin_adds_a_user_with_the_site_role_user(admin_client, password):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "username": "bob",
            "email": "bob@example.com",
            "password1": password,
            "password2": password,
            "usable_password": "true",
        },
    )

    assert response.status_code == 302
    bob = User.objects.get(username="bob")
    assert bob.role == User.SiteRole.USER
    assert bob.check_password(password)
