"""What fuzzing the live API against its contract found (scripts/fuzz_api.py), one test
each: the server and openapi.yaml must agree, and no input may cause a 500."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from api.fields import NO_NUL, NOT_BLANK
from comments.models import Comment
from issues.models import Issue, IssueEvent
from projects.models import Membership, Project, Role
from projects.services import project_delete
from tests.factories import CommentFactory, IssueFactory, LabelFactory, ProjectFactory
from tests.security.contract import assert_conforms, operation

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue(project, owner):
    return IssueFactory(project=project, reporter=owner, assignee=None)


def test_an_open_unassigned_issue_without_reporter_matches_its_schema(
    schema, project, owner_client, member_of
):
    """resolution "" was not in its enum; assignee and reporter were not nullable."""
    reporter = member_of(project, "reporter")
    issue = IssueFactory(project=project, reporter=reporter, assignee=None)
    reporter.delete()

    response = owner_client.get(f"/api/v1/issues/{issue.key}")
    body = response.json()
    assert (body["resolution"], body["assignee"], body["reporter"]) == (None, None, None)
    assert_conforms(schema, "get", "/api/v1/issues/{issue_key}", response)
    listed = owner_client.get("/api/v1/issues")
    assert [row["key"] for row in listed.json()["results"]] == [issue.key]
    assert_conforms(schema, "get", "/api/v1/issues", listed)


def test_what_a_deleted_user_made_matches_its_schema(schema, client_for, member_of, project):
    """created_by, author and actor are null once their user is deleted."""
    maintainer = member_of(project, "maintainer")
    own = ProjectFactory(created_by=maintainer, visibility="internal")
    issue = IssueFactory(project=project)
    comment = CommentFactory(issue=issue, author=maintainer)
    IssueEvent.objects.create(issue=issue, actor=maintainer, kind=IssueEvent.Kind.COMMENTED)
    maintainer.delete()
    client = client_for(project.created_by)

    answers = {
        "/api/v1/projects/{project_key}": client.get(f"/api/v1/projects/{own.key}"),
        "/api/v1/comments/{comment_id}": client.get(f"/api/v1/comments/{comment.pk}"),
        "/api/v1/issues/{issue_key}/events": client.get(f"/api/v1/issues/{issue.key}/events"),
    }
    assert answers["/api/v1/projects/{project_key}"].json()["created_by"] is None
    assert answers["/api/v1/comments/{comment_id}"].json()["author"] is None
    assert answers["/api/v1/issues/{issue_key}/events"].json()["results"][0]["actor"] is None
    for path, response in answers.items():
        assert_conforms(schema, "get", path, response)


def test_transitions_are_a_plain_list_without_list_parameters(schema, owner_client, issue):
    """The schema described a paged list with filters; the view returns a plain list, and
    list parameters are unknown to it (a documented 400)."""
    url = f"/api/v1/issues/{issue.key}/transitions"
    response = owner_client.get(url)
    assert [t["target"] for t in response.json()] == ["closed", "in_progress"]
    assert_conforms(schema, "get", "/api/v1/issues/{issue_key}/transitions", response)
    refused = owner_client.get(url, {"page": 2, "ordering": "x", "status": "y"})
    assert [e["field"] for e in refused.json()["errors"]] == ["ordering", "page", "status"]
    assert_conforms(schema, "get", "/api/v1/issues/{issue_key}/transitions", refused)
    documented = operation(schema, "get", "/api/v1/issues/{issue_key}/transitions")
    assert {p["name"] for p in documented["parameters"]} == {"issue_key", "If-None-Match"}


def test_a_cursor_page_matches_its_schema(schema, owner_client, issue):
    """Cursor pages have no count, which the schema required."""
    response = owner_client.get("/api/v1/issues", {"cursor": ""})
    body = response.json()
    assert "count" not in body
    assert [row["key"] for row in body["results"]] == [issue.key]
    assert_conforms(schema, "get", "/api/v1/issues", response)


def test_answers_the_schema_did_not_list_are_documented(schema, owner_client, api_client, owner):
    """A page past the end (404) and failed logins and refreshes (401) were undocumented;
    create paths can answer 409/422 (Idempotency-Key), any URL 414 (too long)."""
    past_the_end = owner_client.get("/api/v1/projects", {"page": 9})
    assert past_the_end.json()["code"] == "not_found"
    assert_conforms(schema, "get", "/api/v1/projects", past_the_end)
    wrong = {"username": owner.username, "password": "not the password"}
    login = api_client.post("/api/v1/auth/login", wrong, format="json")
    assert login.json()["code"] == "invalid_credentials"
    assert_conforms(schema, "post", "/api/v1/auth/login", login)
    refresh = api_client.post("/api/v1/auth/refresh", {"refresh_token": "x"}, format="json")
    assert refresh.status_code == 401
    assert_conforms(schema, "post", "/api/v1/auth/refresh", refresh)
    assert {"409", "422"} <= set(operation(schema, "post", "/api/v1/issues")["responses"])
    for path, methods in schema["paths"].items():
        for method, documented in methods.items():
            assert "414" in documented["responses"], (method, path)


LISTS = {
    "/api/v1/projects": "/api/v1/projects",
    "/api/v1/issues": "/api/v1/issues",
    "/api/v1/projects/{project_key}/issues": "/api/v1/projects/{project}/issues",
    "/api/v1/projects/{project_key}/labels": "/api/v1/projects/{project}/labels",
    "/api/v1/projects/{project_key}/members": "/api/v1/projects/{project}/members",
    "/api/v1/issues/{issue_key}/comments": "/api/v1/issues/{issue}/comments",
    "/api/v1/issues/{issue_key}/events": "/api/v1/issues/{issue}/events",
}


@pytest.mark.parametrize("path", LISTS)
def test_ordering_documents_exactly_the_terms_it_accepts(schema, owner_client, issue, path):
    """`ordering` was documented as any string; anything but its terms is a 400."""
    parameters = operation(schema, "get", path)["parameters"]
    (ordering,) = [p for p in parameters if p["name"] == "ordering"]
    assert (ordering["style"], ordering["explode"]) == ("form", False)
    url = LISTS[path].format(project=issue.project.key, issue=issue.key)
    terms = ordering["schema"]["items"]["enum"]
    for term in terms:
        query = {"ordering": term, "search": "x"} if term.endswith("rank") else {"ordering": term}
        response = owner_client.get(url, query)
        assert response.status_code == 200, (term, response.content)
    refused = owner_client.get(url, {"ordering": ",".join(terms[:2]) + ",nope"})
    assert refused.json()["errors"][0]["field"] == "ordering"


@pytest.mark.parametrize(
    "method, url, body, field",
    [
        ("patch", "/api/v1/me", {"display_name": 0}, "display_name"),
        ("post", "/api/v1/projects", {"key": "NUM", "name": 1}, "name"),
        ("post", "/api/v1/projects/{project}/labels", {"name": 7}, "name"),
        ("post", "/api/v1/issues/{issue}/comments", {"body": 5}, "body"),
        ("patch", "/api/v1/issues/{issue}", {"title": 3.5}, "title"),
        ("post", "/api/v1/issues/{issue}/status", {"status": "closed", "comment": 1}, "comment"),
        ("post", "/api/v1/auth/login", {"username": 0, "password": "x"}, "username"),
    ],
)
def test_text_fields_refuse_numbers(owner_client, owner, issue, method, url, body, field):
    """DRF turned `0` into "0": the schema says string, so a number is a 400."""
    before = (Project.objects.count(), Comment.objects.count(), IssueEvent.objects.count())
    url = url.format(project=issue.project.key, issue=issue.key)
    response = getattr(owner_client, method)(url, body, format="json")
    assert response.status_code == 400, response.content
    assert [e["field"] for e in response.json()["errors"]] == [field]
    after = (Project.objects.count(), Comment.objects.count(), IssueEvent.objects.count())
    assert after == before
    issue.refresh_from_db()
    owner.refresh_from_db()
    assert (issue.title, issue.status, owner.display_name) != ("3.5", "closed", "0")


# Endpoints that take a file: multipart, and nothing else (a file is no JSON value).
# Attachments also take JSON: the first step of a two-step upload.
UPLOADS = {
    "/api/v1/projects/{project_key}/imports": {"multipart/form-data"},
    "/api/v1/issues/{issue_key}/attachments": {"multipart/form-data", "application/json"},
    "/api/v1/comments/{comment_id}/attachments": {"multipart/form-data", "application/json"},
}


def test_the_contract_takes_json_bodies_only(schema):
    """Form-encoded bodies (for the browsable API's HTML forms) follow HTML rules, such as
    an empty field meaning "not given", that a JSON schema cannot state. Uploads are
    multipart (attachments also JSON: a two-step upload's first step)."""
    for path, methods in schema["paths"].items():
        for documented in methods.values():
            if "requestBody" in documented:
                media = UPLOADS.get(path, {"application/json"})
                assert set(documented["requestBody"]["content"]) == media, path


def test_login_documents_that_it_needs_a_username_or_an_email(schema, api_client):
    login = schema["components"]["schemas"]["LoginRequest"]
    assert "one of them is required" in login["description"]
    response = api_client.post("/api/v1/auth/login", {"password": "x"}, format="json")
    assert response.json()["errors"][0]["field"] == "username"


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_idempotency_key_bounds_are_documented_and_enforced(schema, owner_client, key):
    (header,) = [
        p
        for p in operation(schema, "post", "/api/v1/projects")["parameters"]
        if p["name"] == "Idempotency-Key"
    ]
    assert (header["schema"]["minLength"], header["schema"]["maxLength"]) == (1, 255)
    body = {"key": "IDEM", "name": "Idempotent"}
    response = owner_client.post("/api/v1/projects", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not Project.objects.filter(key="IDEM").exists()


def test_an_empty_filter_value_counts_as_absent(schema, owner_client, issue):
    """`?updated_before=` was accepted though the schema said date-time: it means "no
    filter", as HTML forms send it, and the schema now says so (but not for `page`)."""
    empty = {"updated_before": "", "assignee": "", "type": "", "search": "", "ordering": ""}
    filtered = owner_client.get("/api/v1/issues", empty)
    assert [row["key"] for row in filtered.json()["results"]] == [issue.key]
    parameters = {p["name"]: p for p in operation(schema, "get", "/api/v1/issues")["parameters"]}
    for name in (
        "updated_before",
        "assignee",
        "type",
        "search",
        "page_size",
        "cursor",
        "ordering",
    ):
        assert parameters[name]["allowEmptyValue"] is True, name
    assert "allowEmptyValue" not in parameters["page"]
    assert "allowEmptyValue" not in parameters["status"]  # repeatable: "" is not a choice
    assert owner_client.get("/api/v1/issues", {"page": ""}).status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/issues?search=a&search=b",
        "/api/v1/issues?assignee=me&assignee=none",
        "/api/v1/projects/{project}/issues?page_size=1&page_size=2",
        "/api/v1/projects?role=viewer&role=owner",
        "/api/v1/projects/{project}/labels?ordering=name&ordering=-name",
        "/api/v1/projects/{project}/members?search=a&search=",
        "/api/v1/issues/{issue}/comments?author=me&author=me",
        "/api/v1/issues/{issue}/events?cursor=&cursor=",
    ],
)
def test_a_single_valued_parameter_given_twice_is_a_400(owner_client, issue, url):
    """`?search=a&search=b` was answered for the last value; the schema allows one."""
    url = url.format(project=issue.project.key, issue=issue.key)
    response = owner_client.get(url)
    assert response.status_code == 400
    name = url.split("?")[1].split("=")[0]
    assert response.json()["errors"] == [
        {"field": name, "message": "Give this parameter once.", "code": "invalid"}
    ]


def test_repeatable_filters_may_repeat(owner_client, issue):
    for query in ("status=open&status=closed", "label=x&label=y"):
        response = owner_client.get(f"/api/v1/issues?{query}")
        assert response.status_code in (200, 400)
        if response.status_code == 400:  # label: no such label, named as such
            assert "No label is named" in response.json()["errors"][0]["message"]
        else:
            assert [row["key"] for row in response.json()["results"]] == [issue.key]


@pytest.mark.parametrize(
    "url, parameter",
    [
        ("/api/v1/issues", "created_before"),
        ("/api/v1/issues", "updated_after"),
        ("/api/v1/projects/{project}/issues", "created_after"),
        ("/api/v1/issues/{issue}/comments", "created_before"),
    ],
)
@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"])
def test_a_moment_outside_the_utc_calendar_is_a_400(owner_client, issue, url, parameter, moment):
    """Was a 500: the offset pushed the moment past year 9999 (or before year 1) in UTC."""
    url = url.format(project=issue.project.key, issue=issue.key)
    response = owner_client.get(url, {parameter: moment})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == parameter


def test_any_utc_offset_filters_by_the_same_moment(owner_client, issue):
    """Was a 500 on PostgreSQL, which refuses offsets beyond 15:59: values go in as UTC."""
    Issue.objects.filter(pk=issue.pk).update(created_at="2030-01-01T12:00:00Z")
    just_after = "2030-01-02T07:59:01+19:59"  # 12:00:01 UTC
    response = owner_client.get("/api/v1/issues", {"created_before": just_after})
    assert [row["key"] for row in response.json()["results"]] == [issue.key]
    earlier = owner_client.get("/api/v1/issues", {"created_before": "2030-01-02T07:58:59+19:59"})
    assert earlier.json()["results"] == []


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", "/api/v1/projects/{project}%00"),
        ("delete", "/api/v1/projects/{project}%00"),
        ("get", "/api/v1/issues/{issue}%00"),
        ("post", "/api/v1/issues/{issue}%00/comments"),
        ("delete", "/api/v1/projects/{project}/members/{username}%00"),
        ("get", "/api/v1/comments/1%00"),
    ],
)
def test_a_nul_in_the_url_path_is_a_404(owner_client, owner, issue, method, url):
    """Was a 500 on PostgreSQL, which cannot compare text with a NUL in it."""
    project = issue.project
    url = url.format(project=project.key, issue=issue.key, username=owner.username)
    response = getattr(owner_client, method)(url, {"body": "hi"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert Project.objects.filter(pk=project.pk).exists()
    assert Membership.objects.filter(project=project, user=owner, role=Role.OWNER).exists()
    assert not Comment.objects.exists()


def test_text_fields_document_and_refuse_nul(schema, owner_client, issue):
    """A NUL in a comment was valid by the schema and a 400 from the server."""
    body = schema["components"]["schemas"]["CommentRequest"]["properties"]["body"]
    assert body["pattern"] == NOT_BLANK
    response = owner_client.post(
        f"/api/v1/issues/{issue.key}/comments", {"body": "a\x00b"}, format="json"
    )
    assert response.json()["errors"][0]["field"] == "body"
    assert not Comment.objects.exists()


def test_deleting_a_project_does_not_load_its_issues_one_by_one(owner_client):
    """Each issue's status was read in a query of its own while deleting (an Issue reads its
    status when created), and a 500 if the issue was deleted by someone else meanwhile."""
    small, large = ProjectFactory(), ProjectFactory()
    for project, issues in ((small, 1), (large, 6)):
        LabelFactory(project=project)
        for _ in range(issues):
            IssueFactory(project=project)

    def delete(project):
        with CaptureQueriesContext(connection) as queries:
            project_delete(project=Project.objects.get(pk=project.pk))
        return len(queries)

    assert delete(large) == delete(small)
    assert not Issue.objects.exists()
    assert not Project.objects.filter(pk__in=[small.pk, large.pk]).exists()


def test_a_membership_patch_documents_and_needs_its_role(schema, project, owner_client, member_of):
    """The schema made every field of this PATCH optional; without a role it is a 400."""
    patched = schema["components"]["schemas"]["PatchedMembershipRoleRequest"]
    assert patched["required"] == ["role"]
    developer = member_of(project, "developer")
    url = f"/api/v1/projects/{project.key}/members/{developer.username}"
    response = owner_client.patch(url, {}, format="json")
    assert response.json()["errors"][0]["field"] == "role"
    assert Membership.objects.get(project=project, user=developer).role == Role.DEVELOPER
    changed = owner_client.patch(url, {"role": "maintainer"}, format="json")
    assert changed.json()["role"] == "maintainer"
    assert User.objects.get(pk=developer.pk).memberships.get().role == Role.MAINTAINER


def test_issues_created_under_a_project_document_no_project_field(schema, owner_client, project):
    """The nested create documented `project` as required; the URL names the project."""
    created = operation(schema, "post", "/api/v1/projects/{project_key}/issues")
    body = created["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert "project" not in component["properties"]
    assert component["required"] == ["title"]
    response = owner_client.post(
        f"/api/v1/projects/{project.key}/issues", {"title": "No project"}, format="json"
    )
    assert response.status_code == 201
    assert Issue.objects.get(title="No project").project == project


@pytest.mark.parametrize(
    "url, body, field, code",
    [
        ("/api/v1/issues/{issue}/comments", {"body": "\r"}, "body", "blank"),
        ("/api/v1/issues/{issue}/comments", {"body": "\x1c\x85"}, "body", "blank"),
        (
            "/api/v1/issues",
            {"project": "{project}", "title": "x" + " " * 200},
            "title",
            "max_length",
        ),
        ("/api/v1/projects", {"key": "PAD", "name": "\u3000"}, "name", "blank"),
    ],
)
def test_text_is_checked_as_sent(owner_client, issue, url, body, field, code):
    """DRF trimmed text before checking it: a title of 201 characters padded with spaces
    was accepted though the schema says 200. Whitespace only is still blank."""
    url = url.format(issue=issue.key)
    body = {name: value.format(project=issue.project.key) for name, value in body.items()}
    response = owner_client.post(url, body, format="json")
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]
    assert (Issue.objects.count(), Comment.objects.count()) == (1, 0)
    assert not Project.objects.filter(key="PAD").exists()


def test_surrounding_whitespace_is_kept(owner_client, issue):
    response = owner_client.patch(
        f"/api/v1/issues/{issue.key}", {"title": " Spaced out "}, format="json"
    )
    assert response.json()["title"] == " Spaced out "
    issue.refresh_from_db()
    assert issue.title == " Spaced out "


@pytest.mark.parametrize("path", [p for p in LISTS if "comments" not in p and "events" not in p])
def test_search_documents_its_limits(schema, owner_client, issue, path):
    """`?search=` with a NUL was valid by the schema and a 400 from the server."""
    parameters = {p["name"]: p for p in operation(schema, "get", path)["parameters"]}
    assert parameters["search"]["schema"]["pattern"] == NO_NUL
    assert parameters["search"]["schema"]["maxLength"] == 200
    url = LISTS[path].format(project=issue.project.key, issue=issue.key)
    for text in ("a\x00b", "x" * 201):
        response = owner_client.get(url, {"search": text})
        assert response.json()["errors"][0]["field"] == "search"


@pytest.mark.parametrize("url", ["/api/v1/issues", "/api/v1/projects/{project}/issues"])
def test_a_nul_in_an_assignee_is_a_400(owner_client, issue, url):
    """The username was looked up before the NUL check ran: a 500 on PostgreSQL."""
    body = {"project": issue.project.key, "title": "Assigned", "assignee": "fuzz\x00er"}
    response = owner_client.post(url.format(project=issue.project.key), body, format="json")
    assert response.json()["errors"][0]["field"] == "assignee"
    patched = owner_client.patch(
        f"/api/v1/issues/{issue.key}", {"assignee": "\x00"}, format="json"
    )
    assert patched.json()["errors"][0]["field"] == "assignee"
    assert list(Issue.objects.values_list("title", "assignee")) == [(issue.title, None)]


def test_removing_the_last_owner_is_a_documented_400(schema, project, owner, owner_client):
    response = owner_client.delete(f"/api/v1/projects/{project.key}/members/{owner.username}")
    assert response.json()["errors"][0]["field"] == "username"
    assert_conforms(
        schema, "delete", "/api/v1/projects/{project_key}/members/{username}", response
    )
    assert Membership.objects.get(project=project, user=owner).role == Role.OWNER
