"""Every caller kind x every issue and label endpoint: the status, and no change on refusal."""

import pytest
from django.utils import timezone

from projects.models import Project, Role
from tests.factories import IssueFactory, LabelFactory, MembershipFactory, UserFactory
from tests.matrix import (
    MAY,
    Case,
    assert_like_missing,
    check,
    fill_in,
    matrix,
    send,
)

pytestmark = pytest.mark.django_db

CASES = [
    Case("issue detail", "get", "/api/v1/issues/{issue}"),
    Case("project issue list", "get", "/api/v1/projects/{key}/issues"),
    Case("transitions", "get", "/api/v1/issues/{issue}/transitions"),
    Case("events", "get", "/api/v1/issues/{issue}/events"),
    # Creating at /issues names the project in the body: a hidden one reads as unknown.
    Case(
        "issue create",
        "post",
        "/api/v1/issues",
        {"project": "{key}", "title": "New"},
        allowed="reporter",
        status=201,
        hidden=400,
    ),
    Case(
        "project issue create",
        "post",
        "/api/v1/projects/{key}/issues",
        {"title": "New"},
        allowed="reporter",
        status=201,
    ),
    Case(
        "create with assignee",
        "post",
        "/api/v1/projects/{key}/issues",
        {"title": "New", "assignee": "{assignee}"},
        allowed="developer",
        status=201,
    ),
    Case(
        "own issue title",
        "patch",
        "/api/v1/issues/{own}",
        {"title": "Clearer", "description": "More"},
        allowed="reporter",
    ),
    Case("issue edit", "patch", "/api/v1/issues/{issue}", {"priority": "highest"}, "developer"),
    Case("issue title", "patch", "/api/v1/issues/{issue}", {"title": "Retitled"}, "developer"),
    Case(
        "issue assign", "patch", "/api/v1/issues/{issue}", {"assignee": "{assignee}"}, "developer"
    ),
    Case(
        "issue labels",
        "patch",
        "/api/v1/issues/{issue}",
        {"labels": ["{label_name}"]},
        "developer",
    ),
    Case("issue delete", "delete", "/api/v1/issues/{issue}", allowed="maintainer", status=204),
    Case(
        "issue close",
        "post",
        "/api/v1/issues/{issue}/status",
        {"status": "closed", "resolution": "wont_fix"},
        allowed="maintainer",
    ),
    Case("label list", "get", "/api/v1/projects/{key}/labels"),
    Case("label detail", "get", "/api/v1/projects/{key}/labels/{label}"),
    Case(
        "label create",
        "post",
        "/api/v1/projects/{key}/labels",
        {"name": "fresh", "color": "#000000"},
        allowed="maintainer",
        status=201,
    ),
    Case(
        "label update",
        "patch",
        "/api/v1/projects/{key}/labels/{label}",
        {"name": "renamed"},
        allowed="maintainer",
    ),
    Case(
        "label delete",
        "delete",
        "/api/v1/projects/{key}/labels/{label}",
        allowed="maintainer",
        status=204,
    ),
]
WRITES = [case for case in CASES if case.method != "get"]
KEYS = ("key", "issue", "own")  # the fillings that name the project
READ_SHOWS = {  # something each read must return when allowed
    "issue detail": '"title":"Secret crash"',
    "project issue list": '"title":"Secret crash"',
    "transitions": '"target":"in_progress"',
    "events": '"results":[',
    "label list": '"name":"bug"',
    "label detail": '"name":"bug"',
}


@pytest.fixture
def world(project, client_as, case, kind, visibility):
    """The caller's client, and the fillings of the cases' URLs."""
    project.visibility = visibility
    project.save()
    reporter = UserFactory()
    MembershipFactory(project=project, user=reporter, role=Role.REPORTER)
    assignee = UserFactory()
    MembershipFactory(project=project, user=assignee, role=Role.DEVELOPER)
    label = LabelFactory(project=project, name="bug")
    issue = IssueFactory(project=project, reporter=reporter, title="Secret crash")
    issue.labels.set([LabelFactory(project=project, name="ui")])
    user, client = client_as(project, kind, case.scope)
    own = IssueFactory(project=project, reporter=user or reporter, title="Own report")
    return client, {
        "key": project.key,
        "issue": issue.key,
        "own": own.key,
        "assignee": assignee.username,
        "label": label.pk,
        "label_name": label.name,
    }


@matrix(CASES)
def test_permission_matrix(world, project, case, kind, visibility):
    client, fill = world
    response = check(client, case, kind, visibility, **fill)

    if response.status_code >= 400:
        content = response.content.decode()
        assert "Secret crash" not in content and project.name not in content
        if response.status_code in (400, 404):
            # Indistinguishable from a project (and so issue) that does not exist.
            elsewhere = {name: fill[name].replace(project.key, "NOSUCH") for name in KEYS}
            missing = send(client, case, **{**fill, **elsewhere}).json()
            refused = response.json()
            if response.status_code == 400:
                message = refused["errors"][0]["message"].replace(project.key, "NOSUCH")
                refused["errors"][0]["message"] = message
            assert_like_missing(refused, missing, fill_in(case.path, fill))
    elif case.method == "get":
        assert READ_SHOWS[case.name] in response.content.decode()


@matrix(WRITES)
def test_archived_project_refuses_every_write(world, project, case, kind, visibility):
    client, fill = world
    Project.objects.filter(pk=project.pk).update(archived_at=timezone.now())

    response = check(client, case, kind, visibility, ok=403, **fill)

    # Those the role table lets in learn why they are refused; the status change
    # checks the project first, so everyone who can see the issue does there.
    if response.status_code == 403 and (kind in MAY[case.allowed] or case.name == "issue close"):
        assert response.json()["code"] == "project_archived"


@matrix([Case("issue list", "get", "/api/v1/issues")])
def test_issue_list_shows_what_the_caller_may_see(world, case, kind, visibility):
    client, fill = world
    response = client.get(case.path)
    if kind == "anonymous":
        assert response.status_code == 401
        return
    assert response.status_code == 200
    keys = {issue["key"] for issue in response.json()["results"]}
    sees = kind != "outsider" or visibility == "internal"
    assert (fill["issue"] in keys) == sees
    if not sees:
        assert "Secret crash" not in response.content.decode()
