"""`manage.py seed_demo`: the base demo once however often it runs, and fast bulk issues."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Max

from accounts.models import User
from comments.models import Comment
from demo.data import DEMO_PASSWORD, DEMO_PROJECTS, DEMO_USERS
from issues.models import Issue, IssueEvent, Label
from projects.models import Membership, Project, Role
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def counts() -> dict[str, int]:
    models = (User, Project, Membership, Label, Issue, Comment, IssueEvent)
    return {model.__name__: model.objects.count() for model in models}


def assert_consistent(issues):
    for issue in issues:
        done = issue.status in ("resolved", "closed")
        assert bool(issue.resolution) == done, issue.key
        if issue.status == "resolved":
            assert issue.resolved_at is not None, issue.key
        assert (issue.closed_at is not None) == (issue.status == "closed"), issue.key
        if issue.status in ("in_progress", "in_review"):
            assert issue.assignee is not None, issue.key
        assert issue.created_at <= issue.updated_at, issue.key


def test_seeds_users_in_every_role_and_issues_in_every_status():
    output = seed()

    keys = [key for key, *_ in DEMO_PROJECTS]
    assert sorted(Project.objects.values_list("key", flat=True)) == sorted(keys)
    for project in Project.objects.all():
        roles = set(project.memberships.values_list("role", flat=True))
        assert roles == set(Role.values)
        assert set(project.issues.values_list("status", flat=True)) == set(Issue.Status.values)
        assert project.last_issue_number == project.issues.count()
    assert_consistent(Issue.objects.select_related("project", "assignee"))
    # Walked there through the workflow: every step is in the history.
    resolved = Issue.objects.filter(status="resolved").first()
    steps = list(resolved.events.filter(kind="transitioned").values_list("to_status", flat=True))
    assert steps == ["in_progress", "in_review", "resolved"]
    assert Comment.objects.filter(issue=resolved).exists()
    assert resolved.labels.exists()

    admin = User.objects.get(username="demo-admin")
    assert admin.is_superuser and admin.is_site_admin
    for username, *_ in DEMO_USERS:
        assert User.objects.get(username=username).check_password(DEMO_PASSWORD)
        assert username in output
    assert DEMO_PASSWORD in output
    for path in ("/api/v1/docs/", "/api/v1/", "/api/v1/session/login/", "/admin/"):
        assert f"http://127.0.0.1:8000{path}" in output


def test_running_it_again_adds_nothing():
    seed()
    before = counts()

    output = seed()

    assert counts() == before
    assert "all there already" in output


def test_issues_option_adds_that_many_numbered_without_gaps():
    seed()
    base = Issue.objects.count()

    output = seed("--issues", "250", "--batch-size", "100", "--seed", "7")
    seed("--issues", "50")

    assert Issue.objects.count() == base + 300
    assert "Added 250 issues" in output
    for project in Project.objects.annotate(n=Count("issues"), top=Max("issues__number")):
        assert project.n == project.top == project.last_issue_number
    bulk = Issue.objects.exclude(events__isnull=False).select_related("project", "assignee")
    assert bulk.count() == 300
    assert set(bulk.values_list("status", flat=True)) == set(Issue.Status.values)
    assert_consistent(bulk)
    assert Issue.labels.through.objects.filter(issue__in=bulk).exists()
    assert Comment.objects.filter(issue__in=bulk).exists()
    # Assignees are developers or above of the issue's project.
    for issue in bulk.exclude(assignee=None):
        assert issue.project.memberships.get(user=issue.assignee).role >= Role.DEVELOPER


def test_issues_go_to_the_named_project():
    seed()
    target = Project.objects.get(key="OPS")
    before = target.issues.count()

    seed("--issues", "20", "--project", "ops")

    assert target.issues.count() == before + 20
    assert Issue.objects.count() == len(DEMO_PROJECTS) * 10 + 20


def test_an_unknown_or_archived_project_is_refused():
    seed()
    Project.objects.filter(key="API").update(archived_at="2026-01-01T00:00:00Z")
    with pytest.raises(CommandError, match="No project with the key NOPE"):
        seed("--issues", "5", "--project", "NOPE")
    with pytest.raises(CommandError, match="Archived projects are read-only: API"):
        seed("--issues", "5", "--project", "API")


def test_a_project_with_a_demo_key_that_the_demo_did_not_make_is_left_alone():
    ProjectFactory(key="WEB")

    with pytest.raises(CommandError, match="Project WEB exists and is not a demo project"):
        seed()

    assert not Membership.objects.filter(project__key="WEB").exists()
