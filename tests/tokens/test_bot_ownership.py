"""A project's bot belongs to its project (issue #22).

`bob`, owner of BOBP and a stranger to PRIV, tries every way he once had to take PRIV's bot
over: adding it to BOBP, reading, revoking and creating its tokens through BOBP's URLs, and
naming it in filters and issues. Each answers exactly as for a bot that does not exist, and
nothing changes in either project. No path (API, services, admin) makes a bot an owner.
"""

import importlib
import json
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import PersonalAccessToken, TokenEvent, User
from accounts.services import pat_create
from api.errors import NotAllowed
from projects import services
from projects.models import Membership, Project, Role
from tests.factories import IssueFactory, MembershipFactory, ProjectFactory, UserFactory
from tests.state import EVERY_MODEL, database_state

pytestmark = pytest.mark.django_db

MISSING = "nope-zz+bot"


def owned_project(key, visibility="private"):
    owner = UserFactory(username=f"{key.lower()}-owner")
    project = services.project_create(creator=owner, key=key, name=key, visibility=visibility)
    return project, owner


@pytest.fixture(params=["private", "internal"])
def priv(request):
    """PRIV (private, or internal) with its bot `priv-ci+bot`, holding one token."""
    project, owner = owned_project("PRIV", request.param)
    bot = services.bot_create(project=project, name="ci", role=Role.REPORTER, actor=owner).user
    token, secret = pat_create(
        user=bot, name="deploy", scopes=["issues:write"], projects=[project], actor=owner
    )
    return SimpleNamespace(project=project, owner=owner, bot=bot, token=token, secret=secret)


@pytest.fixture
def bob_client(client_for):
    return client_for(owned_project("BOBP")[1])


def same_answer(hidden, missing, name):
    """Two answers are the same but for the name each asked about (and their URLs)."""
    assert (hidden.status_code, hidden["Content-Type"]) == (
        missing.status_code,
        missing["Content-Type"],
    )
    bodies = json.loads(hidden.content.decode().replace(name, MISSING)), missing.json()
    assert [{**body, "instance": ""} for body in bodies[0:1]] == [
        {**body, "instance": ""} for body in bodies[1:]
    ]


def test_another_projects_bot_cannot_be_added_and_looks_like_no_one(priv, bob_client):
    bot = priv.bot
    before = database_state(EVERY_MODEL)
    for name in (bot.username, bot.username.upper()):
        body = {"username": name, "role": "maintainer"}
        hidden = bob_client.post("/api/v1/projects/BOBP/members", body, format="json")
        missing = bob_client.post(
            "/api/v1/projects/BOBP/members", {**body, "username": MISSING}, format="json"
        )

        assert hidden.status_code == 400, hidden.json()
        same_answer(hidden, missing, name)
    assert database_state(EVERY_MODEL) == before
    assert list(Membership.objects.filter(user=bot).values_list("project__key", flat=True)) == [
        "PRIV"
    ]


@pytest.mark.parametrize("planted", [False, True])
@pytest.mark.parametrize(
    "method, suffix, body",
    [
        ("get", "", None),
        ("post", "", {"name": "takeover", "scopes": ["issues:write"]}),
        ("delete", "/{token_id}", None),
    ],
)
def test_another_projects_bot_tokens_are_a_404_like_a_missing_bot(
    priv, bob_client, method, suffix, body, planted
):
    project, bot, token, secret = priv.project, priv.bot, priv.token, priv.secret
    if planted:  # a membership the old rules let bob add: it gives him no hold on the bot
        MembershipFactory(project=Project.objects.get(key="BOBP"), user=bot, role=Role.VIEWER)
    before = database_state(EVERY_MODEL)

    def ask(name):
        url = f"/api/v1/projects/BOBP/bots/{name}/tokens" + suffix.format(token_id=token.pk)
        return getattr(bob_client, method)(url, body, format="json")

    hidden, missing = ask(bot.username.replace("+", "%2B")), ask(MISSING.replace("+", "%2B"))

    assert hidden.status_code == 404
    same_answer(hidden, missing, bot.username)
    assert database_state(EVERY_MODEL) == before
    # PRIV's automation goes on.
    as_bot = APIClient()
    as_bot.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert as_bot.get(f"/api/v1/projects/{project.key}").status_code == 200


def test_another_projects_private_bot_is_unknown_wherever_a_username_is_taken(client_for):
    project, owner = owned_project("PRIV", "private")
    bot = services.bot_create(project=project, name="ci", role=Role.DEVELOPER, actor=owner).user
    own, bob = owned_project("BOBP")
    issue = IssueFactory(project=own, reporter=bob)
    client = client_for(bob)
    before = database_state(EVERY_MODEL)
    for method, url, field in [
        ("get", "/api/v1/issues?assignee={}", "assignee"),
        ("get", "/api/v1/issues?reporter={}", "reporter"),
        ("get", "/api/v1/projects/BOBP/issues?assignee={}", "assignee"),
        ("get", f"/api/v1/issues/{issue.key}/events?actor={{}}", "actor"),
        ("get", f"/api/v1/issues/{issue.key}/comments?author={{}}", "author"),
        ("patch", f"/api/v1/issues/{issue.key}", "assignee"),
        ("post", "/api/v1/projects/BOBP/issues", "assignee"),
    ]:

        def ask(name, method=method, url=url, field=field):
            if method == "get":
                return client.get(url.format(name.replace("+", "%2B")))
            body = {"title": "x", field: name}
            return getattr(client, method)(url, body, format="json")

        hidden, missing = ask(bot.username), ask(MISSING)
        assert hidden.status_code == 400, (url, hidden.json())
        same_answer(hidden, missing, bot.username)
    assert database_state(EVERY_MODEL) == before


def test_a_visible_projects_bot_can_still_be_named_in_filters(client_for):
    project, owner = owned_project("PUB", "internal")
    bot = services.bot_create(project=project, name="ci", role=Role.DEVELOPER, actor=owner).user
    IssueFactory(project=project, reporter=bot)
    response = client_for(UserFactory()).get("/api/v1/issues", {"reporter": bot.username})
    assert response.status_code == 200
    assert [row["reporter"]["username"] for row in response.json()["results"]] == [bot.username]


def test_the_bots_own_project_still_manages_it(priv, client_for):
    bot, token = priv.bot, priv.token
    client = client_for(priv.owner)
    tokens = f"/api/v1/projects/PRIV/bots/{bot.username}/tokens"

    assert [t["id"] for t in client.get(tokens).json()["results"]] == [token.pk]
    # Removed from its project, it can come back there, and its tokens are still managed.
    assert client.delete(f"/api/v1/projects/PRIV/members/{bot.username}").status_code == 204
    assert [t["id"] for t in client.get(tokens).json()["results"]] == [token.pk]
    back = client.post(
        "/api/v1/projects/PRIV/members", {"username": bot.username, "role": "developer"}
    )
    assert back.status_code == 201, back.json()
    assert client.delete(f"{tokens}/{token.pk}").status_code == 204


@pytest.mark.parametrize("how", ["change", "add"])
def test_a_bot_is_never_made_an_owner_through_the_api(priv, client_for, how):
    owner, bot = priv.owner, priv.bot
    client = client_for(owner)
    member = f"/api/v1/projects/PRIV/members/{bot.username}"
    if how == "add":
        services.membership_remove(membership=Membership.objects.get(user=bot), actor=owner)
    before = database_state(EVERY_MODEL)

    if how == "change":
        response = client.patch(member, {"role": "owner"}, format="json")
    else:
        body = {"username": bot.username, "role": "owner"}
        response = client.post("/api/v1/projects/PRIV/members", body, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["errors"] == [
        {"field": "role", "message": "A bot cannot be an owner.", "code": "invalid"}
    ]
    assert database_state(EVERY_MODEL) == before


def test_the_services_keep_a_bot_in_its_project_and_below_owner(priv):
    project, bot = priv.project, priv.bot
    other, _ = owned_project("BOBP")
    membership = Membership.objects.get(user=bot)
    before = database_state(EVERY_MODEL)

    refusals = [
        lambda: services.membership_add(project=other, user=bot, role=Role.VIEWER),
        lambda: services.membership_change_role(membership=membership, role=Role.OWNER),
        lambda: services.bot_create(project=project, name="boss", role=Role.OWNER),
        lambda: pat_create(user=bot, name="x", scopes=["read"], projects=[other]),
        lambda: pat_create(user=bot, name="x", scopes=["read"], projects=[project, other]),
        lambda: pat_create(user=bot, name="x", scopes=["read"]),
    ]
    for refused in refusals:
        with pytest.raises(ValidationError):
            refused()
    with pytest.raises(NotAllowed):
        services.project_create(creator=bot, key="BOTS", name="A bot's own")
    assert database_state(EVERY_MODEL) == before


def test_a_projects_bots_and_their_tokens_go_with_it(priv):
    project, owner, bot, token = priv.project, priv.owner, priv.bot, priv.token
    services.project_delete(project=project, actor=owner)
    assert not User.objects.filter(pk=bot.pk).exists()
    assert not PersonalAccessToken.objects.filter(pk=token.pk).exists()
    assert User.objects.filter(pk=owner.pk).exists()


# -- the admin ---------------------------------------------------------------------------


@pytest.fixture
def admin(site_admin):
    client = Client()
    client.force_login(site_admin)
    return client


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_admin_neither_adds_a_bot_elsewhere_nor_makes_it_an_owner(priv, admin):
    project, bot = priv.project, priv.bot
    other, _ = owned_project("BOBP")
    membership = Membership.objects.get(user=bot)
    before = database_state(EVERY_MODEL)

    elsewhere = admin.post(
        "/admin/projects/membership/add/",
        {"project": other.pk, "user": bot.pk, "role": str(int(Role.VIEWER))},
    )
    owner_role = admin.post(
        f"/admin/projects/membership/{membership.pk}/change/", {"role": str(int(Role.OWNER))}
    )
    inline = admin.post(
        f"/admin/projects/project/{project.pk}/change/",
        {
            "name": project.name,
            "description": project.description,
            "visibility": project.visibility,
            "memberships-TOTAL_FORMS": "2",
            "memberships-INITIAL_FORMS": "2",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            **{
                f"memberships-{i}-{field}": value
                for i, m in enumerate(project.memberships.order_by("pk"))
                for field, value in {
                    "id": m.pk,
                    "project": project.pk,
                    "user": m.user_id,
                    "role": str(int(Role.OWNER)),
                }.items()
            },
        },
    )

    page = admin.get(f"/admin/accounts/user/{bot.pk}/change/").content.decode()
    assert f"{project.key}: {project.name}" in page  # its project, shown, not changeable
    assert 'name="bot_project"' not in page
    assert any("another project's bot" in m for m in messages_of(elsewhere))
    assert "A bot cannot be an owner." in messages_of(owner_role)
    assert "A bot cannot be an owner." in messages_of(inline)
    assert database_state(EVERY_MODEL) == before


# -- the migration that recorded each bot's project --------------------------------------


def test_the_migration_gives_each_bot_its_project_and_undoes_takeovers():
    migration = importlib.import_module("accounts.migrations.0004_bot_project")
    priv, priv_owner = owned_project("PRIV")
    bobp, _ = owned_project("BOBP")
    bot = services.bot_create(project=priv, name="ci", role=Role.REPORTER, actor=priv_owner).user
    home_token, _ = pat_create(user=bot, name="ci", scopes=["read"], projects=[priv])
    # What the old rules let happen: bob added PRIV's bot, made a token for it in BOBP, and
    # PRIV's owner made it an owner and left; and a bot outlived its deleted project.
    User.objects.filter(pk=bot.pk).update(bot_project=None)
    MembershipFactory(project=bobp, user=bot, role=Role.MAINTAINER)
    Membership.objects.filter(project=priv, user=bot).update(role=Role.OWNER)
    Membership.objects.filter(project=priv, user=priv_owner).update(role=Role.MAINTAINER)
    stolen = PersonalAccessToken.objects.create(
        user=bot, name="stolen", token_hash="x" * 64, prefix="trk_x", limited_to_projects=True
    )
    stolen.projects.set([bobp])
    gone = ProjectFactory(key="GONE")
    orphan = User.objects.create(username="gone-ci+bot", email="o@bots.invalid", type="bot")
    MembershipFactory(project=bobp, user=orphan)
    Project.objects.filter(pk=gone.pk).delete()

    migration.bots_belong_to_their_projects(apps, None)

    bot.refresh_from_db()
    orphan.refresh_from_db()
    assert bot.bot_project == priv and bot.is_active
    assert {m.project.key: m.role for m in Membership.objects.filter(user=bot)} == {
        "PRIV": Role.MAINTAINER
    }
    assert Membership.objects.get(project=priv, user=priv_owner).role == Role.OWNER
    assert PersonalAccessToken.objects.get(pk=home_token.pk).revoked_at is None
    assert PersonalAccessToken.objects.get(pk=stolen.pk).revoked_at is not None
    assert TokenEvent.objects.filter(token=stolen, kind="revoked").exists()
    assert not orphan.is_active and orphan.bot_project is None
    assert not Membership.objects.filter(user=orphan).exists()
