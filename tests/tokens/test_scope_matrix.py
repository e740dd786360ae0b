"""Scope x endpoint x project inside or outside the token's list, against the real
endpoints: the right scope is enough, every other scope together is not (403 naming the
missing one), and a project outside the list is a 404 as if it did not exist. A refusal
changes nothing."""

import pytest

from accounts.pats import SCOPES, scopes_effective
from issues.models import Issue
from projects.models import Role
from tests.factories import IssueFactory, MembershipFactory, ProjectFactory, UserFactory
from tests.matrix import Case, check, matrix, send, token_scopes
from tests.state import database_state

pytestmark = pytest.mark.django_db

CASES = [  # {key}: the project's key, {issue}: an issue of it
    Case("project", "get", "/api/v1/projects/{key}", scope="read"),
    Case("issues", "get", "/api/v1/projects/{key}/issues", scope="read"),
    Case("comments", "get", "/api/v1/issues/{issue}/comments", scope="read"),
    Case(
        "project edit",
        "patch",
        "/api/v1/projects/{key}",
        {"name": "Renamed"},
        scope="projects:admin",
    ),
    Case("archive", "post", "/api/v1/projects/{key}/archive", scope="projects:admin"),
    Case(
        "issue create",
        "post",
        "/api/v1/projects/{key}/issues",
        {"title": "From a script"},
        status=201,
        scope="issues:write",
    ),
    Case(
        "issue edit", "patch", "/api/v1/issues/{issue}", {"title": "Edited"}, scope="issues:write"
    ),
    Case(
        "label create",
        "post",
        "/api/v1/projects/{key}/labels",
        {"name": "ci"},
        status=201,
        scope="issues:write",
    ),
    Case(
        "comment",
        "post",
        "/api/v1/issues/{issue}/comments",
        {"body": "Built."},
        status=201,
        scope="comments:write",
    ),
    Case(
        "member add",
        "post",
        "/api/v1/projects/{key}/members",
        {"username": "{newcomer}", "role": "viewer"},
        status=201,
        scope="members:write",
    ),
    Case(
        "bot create",
        "post",
        "/api/v1/projects/{key}/bots",
        {"name": "ci", "role": "viewer"},
        status=201,
        scope="members:write",
    ),
    Case("webhooks", "get", "/api/v1/projects/{key}/webhooks", scope="webhooks:admin"),
]


@pytest.fixture
def setup(pat_client):
    """An owner of two projects, and a way to get a client with a token limited to the
    first, and the fillings of a case's URL in either."""
    owner = UserFactory()
    inside, outside = ProjectFactory(visibility="private"), ProjectFactory(visibility="private")
    issues = {}
    for project in (inside, outside):
        MembershipFactory(project=project, user=owner, role=Role.OWNER)
        issues[project] = IssueFactory(project=project, reporter=owner)
    newcomer = UserFactory()

    def client(scopes):
        return pat_client(owner, scopes, projects=[inside])

    def fill(project):
        return {"key": project.key, "issue": issues[project].key, "newcomer": newcomer.username}

    return client, fill, inside, outside


# A token with the case's scope alone is enough; one with every other scope together is
# not: a 403 naming the missing one.
@matrix(CASES, callers=[], visibilities=["private"])
def test_the_scope_is_enough_and_needed(setup, case, kind, visibility):
    client, fill, inside, _ = setup
    scopes = token_scopes(kind, case.scope)
    assert (case.scope in scopes_effective(scopes)) == (kind == "token")

    response = check(client(scopes), case, kind, visibility, **fill(inside))

    if kind == "token_without_scope":
        assert response.json()["detail"] == f"This token lacks the `{case.scope}` scope."
        assert response.json()["code"] == "missing_scope"
    elif case.method == "post" and response.status_code == 201:
        assert response.json()  # something was created and shown


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_project_outside_the_list_does_not_exist(setup, case):
    client, fill, _, outside = setup
    before = database_state()

    response = send(client(list(SCOPES)), case, **fill(outside))

    assert response.status_code == 404, response.json()
    assert response.json()["code"] == "not_found"
    assert database_state() == before


def test_lists_and_search_show_only_the_listed_projects(setup, pat_client):
    _, _, inside, _ = setup
    owner = inside.memberships.get().user
    client = pat_client(owner, ["read"], projects=[inside])

    projects = client.get("/api/v1/projects").json()["results"]
    issues = client.get("/api/v1/issues").json()["results"]

    assert [p["key"] for p in projects] == [inside.key]
    assert {i["key"] for i in issues} == {i.key for i in Issue.objects.filter(project=inside)}


def test_an_unlimited_token_sees_every_project_of_its_user(setup, pat_client):
    _, _, inside, outside = setup
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
