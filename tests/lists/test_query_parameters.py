"""Every endpoint takes exactly the query parameters its schema documents, plus DRF's
`format`: any other is a 400 naming it and listing the ones it takes. A typo
(`?assigne=me`), `?sort=` or a cursor on a list without cursors answered the whole list.
An invalid choice names the valid ones."""

import re
from urllib.parse import urlencode

import pytest

from issues.models import Issue
from tests.factories import CommentFactory, IssueFactory
from tests.lists import assert_bad_param, keys
from tests.security.contract import schema_operations
from tests.state import database_state

pytestmark = pytest.mark.django_db

ROLES = "viewer, reporter, developer, maintainer, owner"
RESOLUTIONS = "fixed, duplicate, wont_fix, cannot_reproduce, obsolete"
TAKES = re.compile(r"Unknown parameter; this endpoint takes: (.+)\.")


def query_parameters(operation) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}


def unknown(response) -> dict[str, set[str]]:
    """{unknown parameter: the parameters the 400 says the endpoint takes}."""
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert {e["code"] for e in errors} == {"unknown_parameter"}, errors
    return {e["field"]: set(TAKES.fullmatch(e["message"])[1].split(", ")) for e in errors}


def test_every_operation_takes_exactly_what_it_documents(schema, owner_client, url_for):
    """An undocumented parameter is refused, listing the documented ones (and `format`);
    every documented one is taken; a refused write changes nothing."""
    for path, method, operation in schema_operations(schema):
        documented = query_parameters(operation)
        url = url_for(path)
        before = database_state()
        refused = owner_client.generic(method.upper(), f"{url}?zzz=1&format=json")
        assert unknown(refused) == {"zzz": documented | {"format"}}, (method, path)
        assert refused.json()["detail"] == "Invalid input in: zzz."
        assert database_state() == before, (method, path)
        if documented:
            # Empty values: some are invalid (`page`), none may be unknown.
            taken = owner_client.generic(
                method.upper(), f"{url}?{urlencode(dict.fromkeys(documented, ''))}"
            )
            codes = {e["code"] for e in taken.json().get("errors", [])}
            assert "unknown_parameter" not in codes, (method, path, taken.content)


def test_every_operation_documents_its_400(schema):
    for path, method, operation in schema_operations(schema):
        assert "400" in operation["responses"], (method, path)


def test_a_typo_in_a_filter_is_refused_not_ignored(owner_client, project, owner):
    mine = IssueFactory(project=project, assignee=owner)
    IssueFactory(project=project, assignee=None)
    response = owner_client.get("/api/v1/issues", {"assigne": "me"})
    assert_bad_param(response, "assigne")
    takes = unknown(response)["assigne"]
    assert {"assignee", "reporter", "status", "search", "ordering", "cursor"} <= takes
    assert keys(owner_client.get("/api/v1/issues", {"assignee": "me"})) == [mine.key]


def test_sort_is_not_the_ordering_parameter(owner_client, project):
    IssueFactory(project=project)
    response = owner_client.get("/api/v1/issues", {"sort": "title"})
    assert_bad_param(response, "sort")
    assert "ordering" in unknown(response)["sort"]


@pytest.mark.parametrize(
    "url, cursors",
    [
        ("/api/v1/issues", True),
        ("/api/v1/projects/{project}/issues", True),
        ("/api/v1/issues/{issue}/comments", True),
        ("/api/v1/issues/{issue}/events", True),
        ("/api/v1/projects", False),
        ("/api/v1/projects/{project}/labels", False),
        ("/api/v1/projects/{project}/members", False),
    ],
)
def test_only_lists_with_cursors_take_a_cursor(owner_client, project, url, cursors):
    issue = IssueFactory(project=project)
    CommentFactory(issue=issue)
    response = owner_client.get(url.format(project=project.key, issue=issue.key), {"cursor": ""})
    if cursors:
        assert response.status_code == 200, response.content
        assert "count" not in response.json()  # a cursor page
    else:
        assert_bad_param(response, "cursor")
        assert {"page", "page_size"} <= unknown(response)["cursor"]


def test_a_write_refuses_a_parameter_it_does_not_take(owner_client, project):
    url = f"/api/v1/projects/{project.key}/issues"
    created = owner_client.post(f"{url}?status=open", {"title": "Refused"}, format="json")
    assert unknown(created) == {"status": {"format"}}
    assert not Issue.objects.exists()
    issue = IssueFactory(project=project, title="Kept", priority=Issue.Priority.LOW)
    detail = f"/api/v1/issues/{issue.key}"
    patched = owner_client.patch(f"{detail}?priority=high", {"title": "Changed"}, format="json")
    assert unknown(patched) == {"priority": {"format"}}
    issue.refresh_from_db()
    assert (issue.title, issue.priority) == ("Kept", Issue.Priority.LOW)


def test_format_is_taken_everywhere(owner_client, project):
    issue = IssueFactory(project=project)
    for url in ("/api/v1/issues", f"/api/v1/issues/{issue.key}", "/api/v1/"):
        assert owner_client.get(url, {"format": "json"}).status_code == 200, url
    for url in ("/api/v1/issues", f"/api/v1/projects/{project.key}", "/api/v1/"):
        page = owner_client.get(url, {"format": "api"})  # the browsable API
        assert (page.status_code, page["Content-Type"]) == (200, "text/html; charset=utf-8")


def test_options_describes_a_list_whatever_its_query(owner_client):
    """OPTIONS (also a CORS preflight) carries the query of the request to come."""
    response = owner_client.options("/api/v1/issues", {"status": "open"})
    assert response.status_code == 200
    assert response.json()["name"] == "Issue List"


@pytest.mark.parametrize("method", ["put", "trace"])
def test_a_method_the_endpoint_lacks_is_a_405_whatever_its_query(owner_client, project, method):
    """405 says what is wrong first: the method, not the parameters it came with."""
    issue = IssueFactory(project=project, title="Kept")

    response = owner_client.generic(method.upper(), f"/api/v1/issues/{issue.key}?assigne=me")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    issue.refresh_from_db()
    assert issue.title == "Kept"


@pytest.mark.parametrize(
    "url, parameter, valid",
    [
        ("/api/v1/issues", "priority", "lowest, low, medium, high, highest"),
        ("/api/v1/issues", "status", "open, in_progress, in_review, resolved, closed"),
        ("/api/v1/issues", "type", "bug, feature, task"),
        ("/api/v1/issues", "is_open", "true, false"),
        ("/api/v1/projects/{project}/issues", "resolution", RESOLUTIONS),
        (
            "/api/v1/issues/{issue}/events",
            "kind",
            "created, transitioned, changed, commented, imported, related, unrelated, attached, "
            "detached",
        ),
        ("/api/v1/projects", "visibility", "private, internal"),
        ("/api/v1/projects", "role", ROLES),
        ("/api/v1/projects", "archived", "true, false"),
        ("/api/v1/projects/{project}/members", "role", ROLES),
    ],
)
def test_an_invalid_choice_names_the_valid_ones(owner_client, project, url, parameter, valid):
    issue = IssueFactory(project=project)
    url = url.format(project=project.key, issue=issue.key)
    response = owner_client.get(url, {parameter: "critical"})
    assert_bad_param(response, parameter)
    assert response.json()["errors"] == [
        {
            "field": parameter,
            "message": f'"critical" is not one of {valid}.',
            "code": "invalid_choice",
        }
    ]
