"""One permission matrix for every resource: each request is tried by every kind of caller
and its answer held to who may send it.

A resource's matrix is a list of `Case`s: what to send (method, URL, body, in which
`{name}`s are filled in from the objects the test made) and who may (the lowest role that
may, or "nobody"; the token scope it needs, if it has one). `@matrix(CASES)` parametrizes
a test over case x caller kind x visibility: every kind of CALLERS (each role, an outsider,
anonymous, a site admin) and, for a case with a scope, an owner's personal access token
with that scope (`token`) and with every other scope (`token_without_scope`).
The `client_as(project, kind, scope)` fixture (tests/conftest.py) makes the caller and an
API client for them. `check()` sends the case and asserts what `expected()` says the caller
gets: the status; on a refusal a problem document with that status; that a refusal or a
read changed nothing in the database (tests/state.py) and that an allowed write changed
something.

    from tests.matrix import Case, check, matrix

    CASES = [
        Case("list", "get", "/api/v1/projects/{key}/labels"),
        Case("create", "post", "/api/v1/projects/{key}/labels", {"name": "ci"},
             allowed="maintainer", status=201, scope="issues:write"),
    ]

    @matrix(CASES)
    def test_who_may_manage_labels(project, client_as, case, kind, visibility):
        project.visibility = visibility
        project.save()
        _user, client = client_as(project, kind, case.scope)

        response = check(client, case, kind, visibility, key=project.key)

        if response.status_code >= 400:  # and what else this resource promises
            assert project.name not in response.content.decode()

Where several tests share the objects the cases name, a `world` fixture makes them (a
fixture may take `case`, `kind` and `visibility` like any parametrized argument), as in
tests/issues/test_permission_matrix.py; `check(..., ok=403)` holds an archived project's
writes to the same rights with a refusal for everyone who may; `check(..., state=...)`
adds what a resource outside tests/state.py must keep (tests/webhooks/test_api.py).
"""

from dataclasses import dataclass
from itertools import product

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.pats import SCOPES
from tests.state import database_state

# Every way a caller can stand towards a project.
ROLES = ["viewer", "reporter", "developer", "maintainer", "owner"]
CALLERS = [*ROLES, "outsider", "anonymous", "site_admin"]
VISIBILITIES = ("private", "internal")
TOKENS = ("token", "token_without_scope")
# Who may, by the lowest role that may: that role, those above it, and a site admin.
MAY = {role: {*ROLES[n:], "site_admin"} for n, role in enumerate(ROLES)} | {"nobody": set()}


@dataclass(frozen=True)
class Case:
    name: str
    method: str  # the test client's method: get, post, patch, put, delete
    path: str  # with {name}s filled in from check()'s values
    body: object = None  # likewise, in every string of it
    allowed: str = "viewer"  # the lowest role that may (a key of MAY)
    status: int = 200  # the answer to one who may
    hidden: int = 404  # the answer to one who may not see the project
    scope: str | None = None  # the token scope it needs: adds the token kinds
    # How the body is sent: "json", or "multipart" (each bytes value a file of that name).
    format: str = "json"

    def __str__(self):
        return self.name


def token_kinds(case: Case) -> tuple[str, ...]:
    """The token callers of a case: every scope implies `read`, so a read has no token
    without its scope."""
    if case.scope is None:
        return ()
    return TOKENS if case.scope != "read" else TOKENS[:1]


def token_scopes(kind: str, scope: str) -> list[str]:
    """The scopes of the token of `kind` for a case needing `scope`."""
    return [scope] if kind == "token" else sorted(set(SCOPES) - {scope})


def matrix(cases: list[Case], callers=None, visibilities=VISIBILITIES):
    """Parametrize a test with `case`, `kind` and `visibility`: every case x every caller
    of `callers` ((kind, visibility) pairs; by default CALLERS x `visibilities`), plus the
    case's token kinds in each of `visibilities`."""
    callers = list(product(CALLERS, visibilities) if callers is None else callers)
    params = [
        pytest.param(case, kind, visibility, id=f"{case.name}-{kind}-{visibility}")
        for case in cases
        for kind, visibility in [
            *callers,
            *product(token_kinds(case), visibilities),
        ]
    ]
    return pytest.mark.parametrize("case,kind,visibility", params)


def expected(case: Case, kind: str, visibility: str, ok: int | None = None) -> int:
    """The status `kind` gets for `case` in a project of `visibility` (`ok`: what one who
    may gets, if not the case's status)."""
    if kind == "anonymous":
        return 401
    if kind in TOKENS:  # an owner's token
        return expected(case, "owner", visibility, ok) if kind == "token" else 403
    if kind == "outsider" and visibility == "internal":
        kind = "viewer"  # every signed-in user reads internal projects
    if kind in MAY[case.allowed]:
        return case.status if ok is None else ok
    return case.hidden if kind == "outsider" else 403


def fill_in(template, values: dict):
    """`template` (a string, or a list or dict of them) with its `{name}`s filled in."""
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, list):
        return [fill_in(item, values) for item in template]
    if isinstance(template, dict):
        return {key: fill_in(item, values) for key, item in template.items()}
    return template


def send(client, case: Case, **values):
    """The case's request, sent by `client`, its `{name}`s filled in from `values`."""
    body = fill_in(case.body, values)
    if case.format == "multipart":
        body = {
            name: SimpleUploadedFile(name, value) if isinstance(value, bytes) else value
            for name, value in body.items()
        }
    return getattr(client, case.method)(fill_in(case.path, values), body, format=case.format)


def check(client, case, kind, visibility, *, ok=None, state=database_state, **values):
    """Send the case as `kind`, assert what it gets (see the module), return the answer.
    `state()` is what must not change on a refusal (a resource may add its own rows)."""
    before = state()

    response = send(client, case, **values)

    want = expected(case, kind, visibility, ok)
    assert response.status_code == want, response.content
    if want >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == want
        assert state() == before, "a refused request changed something"
    elif case.method == "get":
        assert state() == before, "a read changed something"
    else:
        assert state() != before, "an allowed write changed nothing"
    return response


def assert_like_missing(refused: dict, missing: dict, url: str) -> None:
    """A refusal (its problem document) says no more than the answer about an object that
    does not exist: the documents are the same but for `instance`."""
    assert refused.pop("instance") == url
    missing.pop("instance")
    assert refused == missing
