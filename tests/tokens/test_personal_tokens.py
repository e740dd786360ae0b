"""Creating, listing and revoking personal access tokens, and what a token may not do."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import PersonalAccessToken, TokenEvent
from accounts.pats import SCOPES, secret_is_well_formed
from projects.models import Membership, Project, Role
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/me/tokens"


def test_create_returns_the_secret_once_and_stores_only_its_hash(user_client, user, project):
    MembershipFactory(project=project, user=user, role=Role.VIEWER)

    response = user_client.post(
        TOKENS,
        {"name": "ci", "scopes": ["read", "issues:write"], "projects": [project.key.lower()]},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    secret = body["token"]
    assert secret.startswith("trk_") and secret_is_well_formed(secret)
    token = PersonalAccessToken.objects.get(pk=body["id"])
    assert token.user == user
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret[:10] == token.prefix == body["prefix"]
    # The secret is nowhere in the row.
    assert secret not in {str(value) for value in token.__dict__.values()}
    assert body["scopes"] == ["issues:write", "read"] == token.scopes
    assert body["projects"] == [project.key]
    assert body["expires_at"] is None and body["last_used_at"] is None
    assert TokenEvent.objects.get(token=token).kind == "created"

    listed = user_client.get(TOKENS).json()["results"]
    assert [t["id"] for t in listed] == [token.pk]
    assert "token" not in listed[0] and secret not in str(listed)


def test_list_shows_only_the_callers_live_tokens(user_client, user, pat_client):
    own = pat_client(user, ["read"]).token
    pat_client(UserFactory(), ["read"])  # someone else's
    revoked = pat_client(user, ["read"]).token
    revoked.revoked_at = timezone.now()
    revoked.save()

    body = user_client.get(TOKENS).json()
    assert [t["id"] for t in body["results"]] == [own.pk]
    assert body["results"][0]["projects"] is None  # not limited


def test_unknown_scopes_are_named(user_client):
    response = user_client.post(
        TOKENS, {"name": "ci", "scopes": ["read", "admin", "issues:delete"]}, format="json"
    )

    assert response.status_code == 400
    message = response.json()["errors"][0]["message"]
    assert response.json()["errors"][0]["field"] == "scopes"
    assert message.startswith("Unknown scopes: admin, issues:delete.")
    assert not PersonalAccessToken.objects.exists()


def test_hidden_and_missing_projects_are_refused_alike(user_client):
    hidden = ProjectFactory(visibility="private")

    response = user_client.post(
        TOKENS, {"name": "ci", "scopes": ["read"], "projects": [hidden.key, "NOPE"]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "projects",
            "message": f"Unknown projects: {min(hidden.key, 'NOPE')}, {max(hidden.key, 'NOPE')}.",
            "code": "does_not_exist",
        }
    ]
    assert not PersonalAccessToken.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "ci", "scopes": []}, "scopes"),
        ({"name": "ci"}, "scopes"),
        ({"scopes": ["read"]}, "name"),
        ({"name": "ci", "scopes": ["read"], "expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "ci", "scopes": "read"}, "scopes"),
        ({"name": "ci", "scopes": ["read"], "projects": []}, "projects"),
    ],
)
def test_invalid_requests_name_the_field(user_client, body, field):
    response = user_client.post(TOKENS, body, format="json")

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert not PersonalAccessToken.objects.exists()


def test_revoke_refuses_the_token_at_once(user_client, user, pat_client):
    client = pat_client(user, ["read"])
    assert client.get("/api/v1/me").status_code == 200

    response = user_client.delete(f"{TOKENS}/{client.token.pk}")

    assert response.status_code == 204
    client.token.refresh_from_db()
    assert client.token.revoked_at is not None
    refused = client.get("/api/v1/me")
    assert refused.status_code == 401
    assert refused.json()["detail"] == "The personal access token is unknown or has been revoked."
    assert refused["WWW-Authenticate"] == 'Bearer realm="api"'
    kinds = set(TokenEvent.objects.filter(token=client.token).values_list("kind", flat=True))
    assert kinds == {"created", "first_used", "revoked"}
    assert user_client.get(TOKENS).json()["results"] == []


def test_other_users_tokens_are_404(user_client, pat_client):
    theirs = pat_client(UserFactory(), ["read"]).token

    assert user_client.delete(f"{TOKENS}/{theirs.pk}").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_expired_token_is_refused(user, pat_client, monkeypatch):
    expires_at = timezone.now() + timedelta(hours=1)
    client = pat_client(user, ["read"], expires_at=expires_at)
    assert client.get("/api/v1/me").status_code == 200

    monkeypatch.setattr("accounts.pats.timezone.now", lambda: expires_at)
    response = client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"
    assert response.json()["detail"] == "The personal access token has expired: create a new one."


@pytest.mark.parametrize(
    "secret, detail",
    [
        ("trk_" + "a" * 38, "malformed"),  # a checksum that does not match
        ("trk_short", "malformed"),
    ],
)
def test_malformed_tokens_are_refused(api_client, secret, detail):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    response = api_client.get("/api/v1/me")

    assert response.status_code == 401
    assert detail in response.json()["detail"]


def test_well_formed_unknown_token_is_refused(api_client, user, pat_client):
    client = pat_client(user, ["read"])
    PersonalAccessToken.objects.all().delete()

    assert client.get("/api/v1/me").status_code == 401


def test_deactivated_users_tokens_are_refused(user, pat_client):
    client = pat_client(user, ["read"])
    user.is_active = False
    user.save()

    response = client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["code"] == "user_inactive"


def test_last_use_is_recorded_at_most_once_a_minute(user, pat_client):
    client = pat_client(user, ["read"])
    client.get("/api/v1/me", REMOTE_ADDR="10.0.0.7")
    client.token.refresh_from_db()
    first = client.token.last_used_at
    assert first is not None and client.token.last_used_ip == "10.0.0.7"

    client.get("/api/v1/me", REMOTE_ADDR="10.0.0.8")
    client.token.refresh_from_db()
    assert (client.token.last_used_at, client.token.last_used_ip) == (first, "10.0.0.7")
    assert TokenEvent.objects.filter(token=client.token, kind="first_used").count() == 1

    listed = client.get(TOKENS)  # no tokens:write: refused, but the use is already known
    assert listed.status_code == 403


def test_every_scope_is_documented_in_the_readme(settings):
    readme = (settings.BASE_DIR / "README.md").read_text()
    assert all(f"`{scope}`" in readme for scope in SCOPES)


# -- escalation --------------------------------------------------------------------------


def test_token_without_tokens_write_cannot_create_or_list_tokens(user, pat_client):
    client = pat_client(user, ["read", "issues:write", "account:write"])

    response = client.post(TOKENS, {"name": "more", "scopes": ["read"]}, format="json")

    assert response.status_code == 403
    assert response.json()["detail"] == "This token lacks the `tokens:write` scope."
    assert response.json()["code"] == "missing_scope"
    assert client.get(TOKENS).status_code == 403
    assert client.delete(f"{TOKENS}/{client.token.pk}").status_code == 403
    assert PersonalAccessToken.objects.count() == 1


def test_token_cannot_create_a_token_beyond_itself(user, pat_client, project):
    user_project = project
    Membership.objects.create(project=user_project, user=user, role=Role.DEVELOPER)
    client = pat_client(user, ["tokens:write", "read"], projects=[user_project])

    wider_scope = client.post(
        TOKENS,
        {"name": "x", "scopes": ["issues:write"], "projects": [user_project.key]},
        format="json",
    )
    unlimited = client.post(TOKENS, {"name": "x", "scopes": ["read"]}, format="json")
    within = client.post(
        TOKENS, {"name": "x", "scopes": ["read"], "projects": [user_project.key]}, format="json"
    )

    assert wider_scope.status_code == 403
    assert "issues:write" in wider_scope.json()["detail"]
    assert unlimited.status_code == 403
    assert within.status_code == 201
    assert PersonalAccessToken.objects.count() == 2


def test_token_cannot_change_email_even_with_account_write(user, pat_client):
    client = pat_client(user, ["account:write"])
    email = user.email

    refused = client.patch("/api/v1/me", {"email": "new@example.com"}, format="json")
    allowed = client.patch("/api/v1/me", {"display_name": "Bot Runner"}, format="json")

    assert refused.status_code == 403 and refused.json()["code"] == "token_not_allowed"
    assert allowed.status_code == 200 and allowed.json()["display_name"] == "Bot Runner"
    user.refresh_from_db()
    assert (user.email, user.display_name) == (email, "Bot Runner")


def test_profile_change_needs_account_write(user, pat_client):
    client = pat_client(user, ["read", "issues:write"])
    name = user.display_name

    response = client.patch("/api/v1/me", {"display_name": "Changed"}, format="json")

    assert response.status_code == 403
    assert response.json()["detail"] == "This token lacks the `account:write` scope."
    user.refresh_from_db()
    assert user.display_name == name


def test_token_cannot_log_out(user, pat_client, client_for):
    pair = client_for(user).token_pair
    client = pat_client(user, list(SCOPES))

    response = client.post(
        "/api/v1/auth/logout", {"refresh_token": str(pair.refresh)}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "token_not_allowed"
    assert not user.token_families.filter(revoked_at__isnull=False).exists()


def test_token_is_not_a_password(client, user, pat_client):
    token_client = pat_client(user, list(SCOPES))

    api = token_client.post(
        "/api/v1/auth/login", {"username": user.username, "password": token_client.secret}
    )
    session = client.post(
        "/api/v1/session/login/",
        {"username": user.username, "password": token_client.secret},
    )

    assert api.status_code == 401
    assert session.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client.session


def test_token_limited_to_projects_cannot_create_projects(user, pat_client, project):
    client = pat_client(user, ["projects:admin"], projects=[])

    response = client.post("/api/v1/projects", {"key": "NEW", "name": "New"}, format="json")

    assert response.status_code == 403
    assert not Project.objects.filter(key="NEW").exists()


def test_rate_limits_count_per_token(user, pat_client, client_for, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "user": "2/min",
        },
    }
    first, second = pat_client(user, ["read"]), pat_client(user, ["read"])

    statuses = [first.get("/api/v1/me").status_code for _ in range(3)]
    other = second.get("/api/v1/me")

    assert statuses == [200, 200, 429]
    assert other.status_code == 200
    assert other["RateLimit-Remaining"] == "1"
    assert client_for(user).get("/api/v1/me").status_code == 200  # the user's own budget


@pytest.mark.redis
def test_a_warm_token_costs_no_query(user, pat_client, django_assert_num_queries, settings):
    settings.TOKEN_BLOCKLIST_USE_CACHE = True
    client = pat_client(user, ["read"])
    assert client.get("/api/v1/me").status_code == 200  # loads the entry, records first use

    with django_assert_num_queries(0):
        assert client.get("/api/v1/me").status_code == 200
