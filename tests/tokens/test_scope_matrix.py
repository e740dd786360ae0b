"""Scope x endpoint x project inside or outside the token's list, against the real
endpoints: the right scope is enough, every other scope together is not (403 naming the
missing one), and a project outside the list is a 404 as if it did not exist. A refusal
changes nothing."""

from dataclasses import dataclass

import pytest

from accounts.pats import SCOPES, scopes_effective
from issues.models import Issue
from projects.models import Role
from tests.factories import IssueFactory, MembershipFactory, ProjectFactory, UserFactory
from tests.state import database_state

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Case:
    scope: str
    method: str
    path: str  # {key}: the project's key, {issue}: an issue of it
    body: dict | None = None

    def __str__(self):
        return f"{self.method} {self.path}"


CASES = [
    Case("read", "get", "/api/v1/projects/{key}"),
    Case("read", "get", "/api/v1/projects/{key}/issues"),
    Case("read", "get", "/api/v1/issues/{issue}/comments"),
    Case("projects:admin", "patch", "/api/v1/projects/{key}", {"name": "Renamed"}),
    Case("projects:admin", "post", "/api/v1/projects/{key}/archive"),
    Case("issues:write", "post", "/api/v1/projects/{key}/issues", {"title": "From a script"}),
    Case("issues:write", "patch", "/api/v1/issues/{issue}", {"title": "Edited"}),
    Case("issues:write", "post", "/api/v1/projects/{key}/labels", {"name": "ci"}),
    Case("comments:write", "post", "/api/v1/issues/{issue}/comments", {"body": "Built."}),
    Case("members:write", "post", "/api/v1/projects/{key}/members", {"role": "viewer"}),
    Case("members:write", "post", "/api/v1/projects/{key}/bots", {"name": "ci", "role": "viewer"}),
    Case("webhooks:admin", "get", "/api/v1/projects/{key}/webhooks"),
]


@pytest.fixture
def setup(pat_client):
    """An owner of two projects, and a way to call `case` on either with a token limited
    to the first."""
    owner = UserFactory()
    inside, outside = ProjectFactory(visibility="private"), ProjectFactory(visibility="private")
    issues = {}
    for project in (inside, outside):
        MembershipFactory(project=project, user=owner, role=Role.OWNER)
        issues[project] = IssueFactory(project=project, reporter=owner)
    newcomer = UserFactory()

    def call(case, scopes, project):
        client = pat_client(owner, scopes, projects=[inside])
        body = dict(case.body or {})
        if "members" in case.path:
            body["username"] = newcomer.username
        path = case.path.format(key=project.key, issue=issues[project].key)
        return getattr(client, case.method)(path, body or None, format="json")

    return call, inside, outside


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_scope_alone_is_enough(setup, case):
    call, inside, _ = setup

    response = call(case, [case.scope], inside)

    assert response.status_code in (200, 201), response.json()
    if case.method == "post" and response.status_code == 201:
        assert response.json()  # something was created and shown


@pytest.mark.parametrize("case", [c for c in CASES if c.scope != "read"], ids=str)
def test_every_other_scope_is_not_enough(setup, case):
    call, inside, _ = setup
    others = sorted(set(SCOPES) - {case.scope})
    assert case.scope not in scopes_effective(others)
    before = database_state()

    response = call(case, others, inside)

    assert response.status_code == 403, response.json()
    assert response.json()["detail"] == f"This token lacks the `{case.scope}` scope."
    assert response.json()["code"] == "missing_scope"
    assert database_state() == before


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_project_outside_the_list_does_not_exist(setup, case):
    call, _, outside = setup
    before = database_state()

    response = call(case, list(SCOPES), outside)

    assert response.status_code == 404, response.json()
    assert response.json()["code"] == "not_found"
    assert database_state() == before


def test_lists_and_search_show_only_the_listed_projects(setup, pat_client):
    _, inside, _ = setup
    owner = inside.memberships.get().user
    client = pat_client(owner, ["read"], projects=[inside])

    projects = client.get("/api/v1/projects").json()["results"]
    issues = client.get("/api/v1/issues").json()["results"]

    assert [p["key"] for p in projects] == [inside.key]
    assert {i["key"] for i in issues} == {i.key for i in Issue.objects.filter(project=inside)}


def test_an_unlimited_token_sees_every_project_of_its_user(setup, pat_client):
    _, inside, outside = setup
    owner = inside.memberships.get().user
    client = pat_client(owner, ["read"])

    keys = {p["key"] for p in client.get("/api/v1/projects").json()["results"]}

    assert keys == {inside.key, outside.key}


def test_project_creation_needs_projects_admin(pat_client):
    user = UserFactory()
    refused = pat_client(user, sorted(set(SCOPES) - {"projects:admin"})).post(
        "/api/v1/projects", {"key": "NEW", "name": "New"}, format="json"
    )
    allowed = pat_client(user, ["projects:admin"]).post(
        "/api/v1/projects", {"key": "NEW", "name": "New"}, format="json"
    )

    assert refused.status_code == 403
    assert refused.json()["detail"] == "This token lacks the `projects:admin` scope."
    assert allowed.status_code == 201
    assert allowed.json()["created_by"]["username"] == user.username
