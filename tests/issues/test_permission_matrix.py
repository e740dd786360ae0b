"""Every caller kind x every issue and label endpoint: the status, and no change on refusal."""

import pytest
from django.utils import timezone

from issues.models import Issue, IssueEvent, Label
from projects.models import Project, Role
from tests.conftest import CALLERS
from tests.factories import IssueFactory, LabelFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

OK_FROM = {  # the lowest role that may, per endpoint
    "viewer": {"viewer", "reporter", "developer", "maintainer", "owner", "site_admin"},
    "reporter": {"reporter", "developer", "maintainer", "owner", "site_admin"},
    "developer": {"developer", "maintainer", "owner", "site_admin"},
    "maintainer": {"maintainer", "owner", "site_admin"},
}


def expected(kind, allowed_from, ok_status, visibility, hidden_status=404):
    if kind == "anonymous":
        return 401
    if kind == "outsider" and visibility == "internal":
        kind = "viewer"  # every signed-in user reads internal projects
    if kind in OK_FROM[allowed_from]:
        return ok_status
    if kind == "outsider":
        return hidden_status
    return 403


def snapshot(project) -> tuple:
    """Everything an issue or label endpoint could change in the project."""
    project.refresh_from_db()
    issues = [
        (
            i.number,
            i.title,
            i.description,
            i.priority,
            i.status,
            i.resolution,
            i.reporter_id,
            i.assignee_id,
            sorted(label.name for label in i.labels.all()),
        )
        for i in Issue.objects.filter(project=project).order_by("number")
    ]
    labels = sorted(Label.objects.filter(project=project).values_list("name", "color"))
    events = IssueEvent.objects.filter(issue__project=project).count()
    return (project.last_issue_number, issues, labels, events)


ENDPOINTS = [
    # (name, method, path, body, lowest role allowed, success status)
    ("issue detail", "get", "/api/v1/issues/{issue}", None, "viewer", 200),
    ("project issue list", "get", "/api/v1/projects/{key}/issues", None, "viewer", 200),
    ("transitions", "get", "/api/v1/issues/{issue}/transitions", None, "viewer", 200),
    ("events", "get", "/api/v1/issues/{issue}/events", None, "viewer", 200),
    (
        "issue create",
        "post",
        "/api/v1/issues",
        {"project": "{key}", "title": "New"},
        "reporter",
        201,
    ),
    (
        "project issue create",
        "post",
        "/api/v1/projects/{key}/issues",
        {"title": "New"},
        "reporter",
        201,
    ),
    (
        "create with assignee",
        "post",
        "/api/v1/projects/{key}/issues",
        {"title": "New", "assignee": "{assignee}"},
        "developer",
        201,
    ),
    (
        "own issue title",
        "patch",
        "/api/v1/issues/{own}",
        {"title": "Clearer", "description": "More"},
        "reporter",
        200,
    ),
    ("issue edit", "patch", "/api/v1/issues/{issue}", {"priority": "highest"}, "developer", 200),
    ("issue title", "patch", "/api/v1/issues/{issue}", {"title": "Retitled"}, "developer", 200),
    (
        "issue assign",
        "patch",
        "/api/v1/issues/{issue}",
        {"assignee": "{assignee}"},
        "developer",
        200,
    ),
    (
        "issue labels",
        "patch",
        "/api/v1/issues/{issue}",
        {"labels": ["{label_name}"]},
        "developer",
        200,
    ),
    ("issue delete", "delete", "/api/v1/issues/{issue}", None, "maintainer", 204),
    (
        "issue close",
        "post",
        "/api/v1/issues/{issue}/status",
        {"status": "closed", "resolution": "wont_fix"},
        "maintainer",
        200,
    ),
    ("label list", "get", "/api/v1/projects/{key}/labels", None, "viewer", 200),
    ("label detail", "get", "/api/v1/projects/{key}/labels/{label}", None, "viewer", 200),
    (
        "label create",
        "post",
        "/api/v1/projects/{key}/labels",
        {"name": "fresh", "color": "#000000"},
        "maintainer",
        201,
    ),
    (
        "label update",
        "patch",
        "/api/v1/projects/{key}/labels/{label}",
        {"name": "renamed"},
        "maintainer",
        200,
    ),
    ("label delete", "delete", "/api/v1/projects/{key}/labels/{label}", None, "maintainer", 204),
]
WRITES = [e for e in ENDPOINTS if e[1] != "get"]
READ_SHOWS = {  # something each read must return when allowed
    "issue detail": '"title":"Secret crash"',
    "project issue list": '"title":"Secret crash"',
    "transitions": '"target":"in_progress"',
    "events": '"results":[',
    "label list": '"name":"bug"',
    "label detail": '"name":"bug"',
}


@pytest.fixture
def setup(project, caller, client_for):
    """The caller, a client for them, and the URL fillings for ENDPOINTS."""

    def make(kind, visibility):
        project.visibility = visibility
        project.save()
        reporter = UserFactory()
        MembershipFactory(project=project, user=reporter, role=Role.REPORTER)
        assignee = UserFactory()
        MembershipFactory(project=project, user=assignee, role=Role.DEVELOPER)
        label = LabelFactory(project=project, name="bug")
        issue = IssueFactory(project=project, reporter=reporter, title="Secret crash")
        issue.labels.set([LabelFactory(project=project, name="ui")])
        user = caller(project, kind)
        own = IssueFactory(project=project, reporter=user or reporter, title="Own report")
        fill = {
            "key": project.key,
            "issue": issue.key,
            "own": own.key,
            "assignee": assignee.username,
            "label": label.pk,
            "label_name": label.name,
        }
        return client_for(user), fill

    return make


def fill_in(path, body, fill):
    """The URL and body with the set-up's keys, names and ids filled in."""

    def value(v):
        return [value(item) for item in v] if isinstance(v, list) else v.format(**fill)

    data = {k: value(v) for k, v in body.items()} if body else None
    return path.format(**fill), data


@pytest.mark.parametrize("visibility", ["private", "internal"])
@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize(
    "name,method,path,body,allowed_from,ok_status", ENDPOINTS, ids=[e[0] for e in ENDPOINTS]
)
def test_permission_matrix(
    setup, project, kind, visibility, name, method, path, body, allowed_from, ok_status
):
    client, fill = setup(kind, visibility)
    url, data = fill_in(path, body, fill)
    before = snapshot(project)

    response = getattr(client, method)(url, data, format="json")

    # Creating at /issues names the project in the body: a hidden one reads as unknown.
    hidden = 400 if name == "issue create" else 404
    want = expected(kind, allowed_from, ok_status, visibility, hidden)
    assert response.status_code == want, response.content
    if want >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == want
        assert snapshot(project) == before, "a refused request changed something"
        content = response.content.decode()
        assert "Secret crash" not in content and project.name not in content
        if want in (400, 404):
            # Indistinguishable from a project (and so issue) that does not exist.
            missing_url, missing_data = fill_in(path, body, {**fill, "key": "NOSUCH"})
            missing_url = missing_url.replace(project.key, "NOSUCH")
            missing = getattr(client, method)(missing_url, missing_data, format="json")
            got, missing_body = response.json(), missing.json()
            assert got.pop("instance") == url
            missing_body.pop("instance")
            if want == 400:
                message = got["errors"][0]["message"].replace(project.key, "NOSUCH")
                got["errors"][0]["message"] = message
            assert got == missing_body
    elif method == "get":
        assert snapshot(project) == before
        assert READ_SHOWS[name] in response.content.decode()
    else:
        assert snapshot(project) != before, "an allowed write changed nothing"


@pytest.mark.parametrize("visibility", ["private", "internal"])
@pytest.mark.parametrize("kind", CALLERS)
@pytest.mark.parametrize(
    "name,method,path,body,allowed_from,ok_status", WRITES, ids=[e[0] for e in WRITES]
)
def test_archived_project_refuses_every_write(
    setup, project, kind, visibility, name, method, path, body, allowed_from, ok_status
):
    client, fill = setup(kind, visibility)
    Project.objects.filter(pk=project.pk).update(archived_at=timezone.now())
    url, data = fill_in(path, body, fill)
    before = snapshot(project)

    response = getattr(client, method)(url, data, format="json")

    hidden = 400 if name == "issue create" else 404
    want = expected(kind, allowed_from, 403, visibility, hidden)
    assert response.status_code == want, response.content
    # Those the role table lets in learn why they are refused; the status change
    # checks the project first, so everyone who can see the issue does there.
    if want == 403 and (kind in OK_FROM[allowed_from] or name == "issue close"):
        assert response.json()["code"] == "project_archived"
    assert snapshot(project) == before


@pytest.mark.parametrize("visibility", ["private", "internal"])
@pytest.mark.parametrize("kind", CALLERS)
def test_issue_list_shows_what_the_caller_may_see(setup, project, kind, visibility):
    client, fill = setup(kind, visibility)
    response = client.get("/api/v1/issues")
    if kind == "anonymous":
        assert response.status_code == 401
        return
    assert response.status_code == 200
    keys = {issue["key"] for issue in response.json()["results"]}
    sees = kind != "outsider" or visibility == "internal"
    assert (fill["issue"] in keys) == sees
    if not sees:
        assert "Secret crash" not in response.content.decode()
