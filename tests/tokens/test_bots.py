"""Bot accounts: created by a project's maintainers, acting only through their tokens."""

import pytest
from django.test import Client

from accounts.models import PersonalAccessToken, TokenEvent, User
from issues.models import Issue
from projects.models import Membership
from tests.factories import UserFactory
from tests.state import database_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot(project, maintainer, client_for):
    response = client_for(maintainer).post(
        f"/api/v1/projects/{project.key}/bots", {"name": "ci", "role": "reporter"}, format="json"
    )
    assert response.status_code == 201, response.json()
    return User.objects.get(pk=response.json()["user"]["id"])


def test_maintainer_creates_a_bot_member(project, maintainer, client_for):
    response = client_for(maintainer).post(
        f"/api/v1/projects/{project.key}/bots", {"name": "deploy", "role": "developer"}
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    bot = User.objects.get(username=f"{project.key.lower()}-deploy+bot")
    assert body["user"] == {
        "id": bot.pk,
        "username": bot.username,
        "display_name": "deploy",
        "type": "bot",
    }
    assert body["role"] == "developer"
    # The new member's address, absolute like every other `url`, and one that answers.
    assert body["url"] == f"http://testserver/api/v1/projects/{project.key}/members/{bot.username}"
    assert client_for(maintainer).get(body["url"]).json()["user"]["id"] == bot.pk
    assert bot.is_bot and not bot.has_usable_password()
    assert Membership.objects.get(user=bot).project == project
    listed = client_for(maintainer).get(f"/api/v1/projects/{project.key}/bots").json()
    assert [m["user"]["username"] for m in listed["results"]] == [bot.username]


@pytest.mark.parametrize(
    "kind, body, status",
    [
        ("developer", {"name": "ci", "role": "viewer"}, 403),
        ("outsider", {"name": "ci", "role": "viewer"}, 404),
        ("owner", {"name": "ci", "role": "owner"}, 400),
        ("owner", {"name": "Not OK", "role": "viewer"}, 400),
        ("owner", {"name": "ci", "role": "boss"}, 400),
    ],
)
def test_bot_creation_refusals_change_nothing(project, caller, client_for, kind, body, status):
    client = client_for(caller(project, kind))
    before = database_state()

    response = client.post(f"/api/v1/projects/{project.key}/bots", body, format="json")

    assert response.status_code == status, response.json()
    assert database_state() == before


def test_a_second_bot_of_the_same_name_is_refused(project, maintainer, bot, client_for):
    response = client_for(maintainer).post(
        f"/api/v1/projects/{project.key}/bots", {"name": "CI".lower(), "role": "viewer"}
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"
    assert User.objects.filter(type="bot").count() == 1


def test_people_cannot_register_bot_names(api_client):
    response = api_client.post(
        "/api/v1/auth/register",
        {"username": "web-ci+bot", "email": "x@example.com", "password": "a long passphrase 1"},
    )

    assert response.status_code == 400
    assert not User.objects.filter(username="web-ci+bot").exists()


def test_bot_cannot_log_in_with_a_password_anywhere(bot, api_client):
    # Even if an operator gave it one.
    bot.set_password("a long passphrase 1")
    bot.is_staff = True
    bot.save()
    credentials = {"username": bot.username, "password": "a long passphrase 1"}

    api = api_client.post("/api/v1/auth/login", credentials)
    session, admin = Client(), Client()
    session.post("/api/v1/session/login/", credentials)
    admin.post("/admin/login/", credentials)

    assert api.status_code == 401
    assert "_auth_user_id" not in session.session
    assert "_auth_user_id" not in admin.session


def test_bot_tokens_act_as_the_bot_in_its_project_only(project, maintainer, bot, client_for):
    manager = client_for(maintainer)
    tokens = f"/api/v1/projects/{project.key}/bots/{bot.username}/tokens"

    created = manager.post(tokens, {"name": "ci", "scopes": ["issues:write"]}, format="json")

    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["projects"] == [project.key] and body["token"].startswith("trk_")
    token = PersonalAccessToken.objects.get(pk=body["id"])
    assert token.user == bot
    assert TokenEvent.objects.get(token=token, kind="created").actor == maintainer
    assert [t["id"] for t in manager.get(tokens).json()["results"]] == [token.pk]
    assert "token" not in manager.get(tokens).json()["results"][0]

    from rest_framework.test import APIClient

    as_bot = APIClient()
    as_bot.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    issue = as_bot.post(f"/api/v1/projects/{project.key}/issues", {"title": "Build failed"})
    assert issue.status_code == 201, issue.json()
    assert issue.json()["reporter"]["type"] == "bot"
    assert Issue.objects.get(pk=issue.json()["id"]).reporter == bot

    assert manager.delete(f"{tokens}/{token.pk}").status_code == 204
    assert as_bot.get(f"/api/v1/projects/{project.key}").status_code == 401


def test_only_maintainers_manage_bot_tokens(project, bot, caller, client_for):
    tokens = f"/api/v1/projects/{project.key}/bots/{bot.username}/tokens"
    developer = client_for(caller(project, "developer"))
    outsider = client_for(UserFactory())

    assert developer.post(tokens, {"name": "x", "scopes": ["read"]}).status_code == 403
    assert developer.get(tokens).status_code == 403
    assert outsider.post(tokens, {"name": "x", "scopes": ["read"]}).status_code == 404
    assert not PersonalAccessToken.objects.exists()


def test_a_person_is_not_a_bot_here(project, maintainer, client_for):
    person = f"/api/v1/projects/{project.key}/bots/{maintainer.username}/tokens"

    response = client_for(maintainer).post(person, {"name": "x", "scopes": ["read"]})

    assert response.status_code == 404
    assert not PersonalAccessToken.objects.exists()
