"""Every caller kind x every export and import endpoint, on private and internal projects,
active and archived; and personal access tokens with and without the scope each needs. The
status, and on refusal: nothing changed, nothing of the project shown."""

import pytest
from django.utils import timezone

from accounts.pats import SCOPES
from projects.models import Project, Role
from tests.conftest import CALLERS
from tests.factories import IssueFactory, MembershipFactory, UserFactory
from tests.state import database_state
from transfers.models import Export, Import

from .helpers import jsonl, upload

pytestmark = pytest.mark.django_db

# Who may, per endpoint: the lowest role; "requester" adds the person who asked.
ENDPOINTS = [
    # (name, method, path, lowest role, also the requester, success, works when archived)
    ("export create", "post", "/api/v1/projects/{key}/exports", "viewer", False, 202, True),
    ("export detail", "get", "/api/v1/exports/{export}", "maintainer", True, 200, True),
    ("import", "post", "/api/v1/projects/{key}/imports", "maintainer", False, 202, False),
    ("dry run", "post", "/api/v1/projects/{key}/imports", "maintainer", False, 200, False),
    ("import detail", "get", "/api/v1/imports/{import}", "maintainer", False, 200, True),
]
ROLES = ["viewer", "reporter", "developer", "maintainer", "owner"]


def body_for(name):
    if name == "export create":
        return {"format": "csv"}, "json"
    if name in ("import", "dry run"):
        data = {"file": upload(jsonl([{"key": "A-1", "title": "Imported"}])), "format": "jsonl"}
        if name == "dry run":
            data["dry_run"] = "true"
        return data, "multipart"
    return None, "json"


def expected(kind, lowest, requester_too, ok, visibility, archived, archived_ok, is_requester):
    if kind == "anonymous":
        return 401
    sees = kind not in ("outsider",) or visibility == "internal"
    if not sees:
        return 404
    role = "viewer" if kind == "outsider" else kind
    allowed = kind == "site_admin" or ROLES.index(role) >= ROLES.index(lowest)
    allowed = allowed or (requester_too and is_requester)
    if archived and not archived_ok:
        return 403
    return ok if allowed else 403


@pytest.fixture
def setup(project, caller, client_for):
    def make(kind, visibility, archived, own_export):
        Project.objects.filter(pk=project.pk).update(visibility=visibility)
        project.refresh_from_db()
        owner = project.created_by
        IssueFactory(project=project, reporter=owner, title="Secret crash")
        user = caller(project, kind)
        requester = user if own_export and user is not None else owner
        done = {"status": "done", "expires_at": timezone.now() + timezone.timedelta(hours=1)}
        export = Export.objects.create(
            project=project, requested_by=requester, format="csv", **done
        )
        imp = Import.objects.create(
            project=project, requested_by=owner, format="csv", status="done"
        )
        if archived:
            Project.objects.filter(pk=project.pk).update(archived_at=timezone.now())
        fill = {"key": project.key, "export": export.pk, "import": imp.pk}
        return client_for(user), fill

    return make


@pytest.mark.parametrize("archived", [False, True], ids=["active", "archived"])
@pytest.mark.parametrize("visibility", ["private", "internal"])
@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize(
    "name, method, path, lowest, requester_too, ok, archived_ok",
    ENDPOINTS,
    ids=[e[0] for e in ENDPOINTS],
)
def test_permission_matrix(
    setup,
    project,
    django_capture_on_commit_callbacks,
    kind,
    visibility,
    archived,
    name,
    method,
    path,
    lowest,
    requester_too,
    ok,
    archived_ok,
):
    for own_export in ([False, True] if requester_too and kind != "anonymous" else [False]):
        client, fill = setup(kind, visibility, archived, own_export)
        data, format = body_for(name)
        before = database_state()

        response = getattr(client, method)(path.format(**fill), data, format=format)

        want = expected(
            kind, lowest, requester_too, ok, visibility, archived, archived_ok, own_export
        )
        assert response.status_code == want, (own_export, response.content)
        if want >= 400:
            assert response["Content-Type"] == "application/problem+json"
            assert database_state() == before, "a refused request changed something"
            assert "Secret crash" not in response.content.decode()
            assert project.name not in response.content.decode()
            if want == 403 and archived and not archived_ok:
                assert response.json()["code"] == "project_archived"
        elif method == "get" or name == "dry run":
            assert database_state() == before
            assert response.json()
        else:
            assert database_state() != before
        Export.objects.all().delete()
        Import.objects.all().delete()


def test_the_refusal_for_another_persons_export_says_who_may_read_it(
    project, member_of, client_for
):
    export = Export.objects.create(
        project=project, requested_by=project.created_by, format="csv", expires_at=timezone.now()
    )
    response = client_for(member_of(project, "developer")).get(f"/api/v1/exports/{export.pk}")
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Only the person who asked for this export, or a maintainer or owner, can read it."
    )


def test_an_export_of_a_project_the_caller_cannot_see_is_a_404_like_a_missing_one(
    project, client_for
):
    export = Export.objects.create(
        project=project, requested_by=project.created_by, format="csv", expires_at=timezone.now()
    )
    client = client_for(UserFactory())
    hidden, missing = client.get(f"/api/v1/exports/{export.pk}"), client.get("/api/v1/exports/999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"] == missing.json()["detail"]


# -- personal access tokens ---------------------------------------------------------------

TOKEN_CASES = [
    # (name, the scope it needs)
    ("export create", "read"),
    ("export detail", "read"),
    ("import", "issues:import"),
    ("dry run", "issues:import"),
    ("import detail", "read"),
]


@pytest.fixture
def owned(project):
    owner = project.created_by
    export = Export.objects.create(
        project=project, requested_by=owner, format="csv", status="done", expires_at=timezone.now()
    )
    imp = Import.objects.create(project=project, requested_by=owner, format="csv", status="done")
    return {"key": project.key, "export": export.pk, "import": imp.pk}


def call(client, name, fill):
    method, path = next((e[1], e[2]) for e in ENDPOINTS if e[0] == name)
    data, format = body_for(name)
    return getattr(client, method)(path.format(**fill), data, format=format)


@pytest.mark.parametrize("name, scope", TOKEN_CASES, ids=[c[0] for c in TOKEN_CASES])
def test_a_token_with_the_scope_may(project, owned, pat_client, name, scope):
    client = pat_client(project.created_by, [scope], projects=[project])
    response = call(client, name, owned)
    assert response.status_code in (200, 202), response.content


@pytest.mark.parametrize(
    "name, scope", [c for c in TOKEN_CASES if c[1] != "read"], ids=lambda c: str(c)
)
def test_a_token_without_the_scope_may_not(project, owned, pat_client, name, scope):
    client = pat_client(project.created_by, sorted(set(SCOPES) - {scope}))
    before = database_state()
    response = call(client, name, owned)
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"
    assert f"`{scope}`" in response.json()["detail"]
    assert database_state() == before


@pytest.mark.parametrize("name", [c[0] for c in TOKEN_CASES])
def test_a_token_limited_to_other_projects_finds_nothing(project, owned, pat_client, name):
    other = Project.objects.create(key="ELSE", name="Else")
    MembershipFactory(project=other, user=project.created_by, role=Role.OWNER)
    client = pat_client(project.created_by, list(SCOPES), projects=[other])
    before = database_state()
    assert call(client, name, owned).status_code == 404
    assert database_state() == before
