"""The Django admin for issues: status read-only, edits and transitions through the services."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from comments.models import Comment
from issues.models import Issue, IssueEvent
from projects.models import Project
from tests.factories import (
    CommentFactory,
    IssueFactory,
    LabelFactory,
    ProjectFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/issues/issue/"
NO_INLINES = {
    f"{prefix}-{name}": value
    for prefix in ("relations_out", "relations_in", "relations_in-2", "comments", "events")
    for name, value in (
        ("TOTAL_FORMS", "0"),
        ("INITIAL_FORMS", "0"),
        ("MIN_NUM_FORMS", "0"),
        ("MAX_NUM_FORMS", "1000"),
    )
}


@pytest.fixture
def admin_client(site_admin):
    client = Client()
    client.force_login(site_admin)
    return client


def form_data(issue: Issue, **changes) -> dict:
    """The change form as the admin would post it, with `changes` applied."""
    data = {
        "title": issue.title,
        "description": issue.description,
        "type": issue.type,
        "priority": str(issue.priority),
        "assignee": issue.assignee_id or "",
        "labels": [label.pk for label in issue.labels.all()],
        "due_date": "",
        **NO_INLINES,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def run_action(client, target, *issues):
    return client.post(
        CHANGELIST,
        {"action": f"move_to_{target}", "_selected_action": [i.pk for i in issues]},
    )


# -- the change form --------------------------------------------------------------------


def test_status_is_shown_but_not_editable(admin_client, project):
    issue = IssueFactory(project=project, status="in_review")
    response = admin_client.get(f"{CHANGELIST}{issue.pk}/change/")
    assert response.status_code == 200
    # Not fields of the issue's form: status and resolution change through the workflow
    # panel beside it, which runs the service (tests/admin/test_issue_workflow.py).
    fields = response.context["adminform"].form.fields
    assert "status" not in fields
    assert "resolution" not in fields
    html = response.content.decode()
    assert "in_review" in html or "In Review" in html


def test_posting_a_status_in_the_form_changes_only_the_editable_fields(
    admin_client, project, site_admin
):
    issue = IssueFactory(project=project, title="Before")
    response = admin_client.post(
        f"{CHANGELIST}{issue.pk}/change/",
        form_data(issue, title="After", status="closed", resolution="fixed"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    issue.refresh_from_db()
    assert (issue.title, issue.status, issue.resolution) == ("After", "open", "")
    event = issue.events.get()
    assert (event.kind, event.actor, event.field) == ("changed", site_admin, "title")
    assert (event.old_value, event.new_value) == ("Before", "After")


def test_form_edits_go_through_the_service_and_are_recorded(
    admin_client, project, developer, site_admin
):
    label = LabelFactory(project=project, name="bug")
    issue = IssueFactory(project=project, priority=Issue.Priority.LOW)
    response = admin_client.post(
        f"{CHANGELIST}{issue.pk}/change/",
        form_data(issue, priority="5", assignee=developer.pk, labels=[label.pk]),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    issue.refresh_from_db()
    assert (issue.priority, issue.assignee) == (Issue.Priority.HIGHEST, developer)
    assert list(issue.labels.all()) == [label]
    changes = {e.field: (e.old_value, e.new_value) for e in issue.events.all()}
    assert changes == {
        "priority": ("low", "highest"),
        "assignee": (None, developer.username),
        "labels": ([], ["bug"]),
    }
    assert set(issue.events.values_list("actor", flat=True)) == {site_admin.pk}


def test_form_refuses_an_assignee_below_developer(admin_client, project, member_of):
    reporter = member_of(project, "reporter")
    issue = IssueFactory(project=project)
    response = admin_client.post(
        f"{CHANGELIST}{issue.pk}/change/", form_data(issue, assignee=reporter.pk)
    )
    assert response.status_code == 200  # the form again, with the error
    assert "is not a developer" in response.content.decode()
    issue.refresh_from_db()
    assert issue.assignee is None
    assert not issue.events.exists()


def test_form_refuses_labels_of_another_project(admin_client, project):
    foreign = LabelFactory(project=ProjectFactory(), name="foreign")
    issue = IssueFactory(project=project)
    response = admin_client.post(
        f"{CHANGELIST}{issue.pk}/change/", form_data(issue, labels=[foreign.pk])
    )
    assert response.status_code == 200
    # The picker offers only the project's labels, so another's is not a valid choice.
    assert "labels" in response.context["adminform"].form.errors
    assert not issue.labels.exists()
    assert not issue.events.exists()


def test_form_refuses_edits_in_an_archived_project(admin_client, project):
    issue = IssueFactory(project=project, title="Frozen")
    Project.objects.filter(pk=project.pk).update(archived_at=timezone.now())
    response = admin_client.post(f"{CHANGELIST}{issue.pk}/change/", form_data(issue, title="x"))
    assert response.status_code == 200
    assert "archived and read-only" in response.content.decode()
    issue.refresh_from_db()
    assert issue.title == "Frozen"
    assert not issue.events.exists()


def test_project_and_reporter_are_not_editable_on_an_issue(admin_client, project):
    issue = IssueFactory(project=project)
    other = ProjectFactory()
    response = admin_client.post(
        f"{CHANGELIST}{issue.pk}/change/",
        form_data(issue, project=other.pk, reporter=UserFactory().pk, title="Moved?"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    reporter = issue.reporter
    issue.refresh_from_db()
    assert (issue.project, issue.reporter, issue.title) == (project, reporter, "Moved?")


def test_add_form_creates_through_the_service(admin_client, project, developer, site_admin):
    IssueFactory(project=project)  # number 1 is taken
    label = LabelFactory(project=project)
    data = {
        "project": project.pk,
        "title": "From the admin",
        "description": "",
        "type": "bug",
        "priority": "3",
        "assignee": developer.pk,
        "labels": [label.pk],
        "due_date": "",
        **NO_INLINES,
    }
    response = admin_client.post(f"{CHANGELIST}add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    issue = Issue.objects.get(title="From the admin")
    assert (issue.number, issue.status, issue.reporter) == (2, "open", site_admin)
    assert list(issue.labels.all()) == [label]
    assert issue.events.get().kind == IssueEvent.Kind.CREATED
    assert f"{project.key}-2" in " ".join(messages_of(response))


def test_add_form_refuses_a_foreign_label(admin_client, project):
    foreign = LabelFactory(project=ProjectFactory())
    data = {
        "project": project.pk,
        "title": "x",
        "type": "task",
        "priority": "3",
        "labels": [foreign.pk],
        **NO_INLINES,
    }
    response = admin_client.post(f"{CHANGELIST}add/", data)
    assert response.status_code == 200
    # The picker offers only the project's labels, so another's is not a valid choice.
    assert "labels" in response.context["adminform"].form.errors
    assert not Issue.objects.exists()
    project.refresh_from_db()
    assert project.last_issue_number == 0


# -- transitions as admin actions -------------------------------------------------------


def test_every_status_is_offered_as_an_action(admin_client, project):
    IssueFactory(project=project)
    html = admin_client.get(CHANGELIST).content.decode()
    for status in Issue.Status.values:
        assert f'value="move_to_{status}"' in html


def test_action_takes_the_transition_and_records_it(admin_client, project, developer, site_admin):
    issues = [IssueFactory(project=project, assignee=developer) for _ in range(2)]
    response = run_action(admin_client, "in_progress", *issues)
    assert response.status_code == 302
    assert messages_of(response) == ["Moved 2 issue(s) to in_progress."]
    for issue in issues:
        issue.refresh_from_db()
        assert issue.status == "in_progress"
        event = issue.events.get()
        assert (event.actor, event.from_status, event.to_status) == (
            site_admin,
            "open",
            "in_progress",
        )


def test_action_applies_the_workflow_rules(admin_client, project, developer):
    ready = IssueFactory(project=project, assignee=developer)
    unassigned = IssueFactory(project=project)
    resolved = IssueFactory(project=project, status="resolved", resolution="fixed")

    response = run_action(admin_client, "in_progress", ready, unassigned, resolved)

    messages = messages_of(response)
    assert f"{unassigned.key}: The issue must have an assignee." in messages
    assert any(
        m.startswith(f"{resolved.key}: Cannot move an issue from resolved") for m in messages
    )
    assert "Moved 1 issue(s) to in_progress." in messages
    statuses = {i.key: Issue.objects.get(pk=i.pk).status for i in (ready, unassigned, resolved)}
    assert statuses == {ready.key: "in_progress", unassigned.key: "open", resolved.key: "resolved"}
    assert not unassigned.events.exists()
    assert not resolved.events.exists()


def test_closing_a_resolved_issue_from_the_admin(admin_client, project):
    issue = IssueFactory(project=project, status="resolved", resolution="duplicate")
    response = run_action(admin_client, "closed", issue)
    assert messages_of(response) == ["Moved 1 issue(s) to closed."]
    issue.refresh_from_db()
    assert (issue.status, issue.resolution) == ("closed", "duplicate")
    assert issue.closed_at is not None


def test_action_on_an_archived_project_is_refused(admin_client, project, developer):
    issue = IssueFactory(project=project, assignee=developer)
    Project.objects.filter(pk=project.pk).update(archived_at=timezone.now())
    response = run_action(admin_client, "in_progress", issue)
    assert messages_of(response) == [f"{issue.key}: This project is archived and read-only."]
    assert Issue.objects.get(pk=issue.pk).status == "open"


def test_actions_are_for_staff_only(project, developer, member_of):
    issue = IssueFactory(project=project, assignee=developer)
    client = Client()
    client.force_login(member_of(project, "owner"))
    response = run_action(client, "in_progress", issue)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert Issue.objects.get(pk=issue.pk).status == "open"


def test_history_is_read_only_in_the_admin(admin_client, project, site_admin):
    issue = IssueFactory(project=project)
    IssueEvent.objects.create(issue=issue, actor=site_admin, kind="created", to_status="open")
    event = issue.events.get()
    assert admin_client.get("/admin/issues/issueevent/add/").status_code == 403
    response = admin_client.post(
        f"/admin/issues/issueevent/{event.pk}/change/", {"kind": "changed"}
    )
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.kind == "created"


# -- comments ---------------------------------------------------------------------------

COMMENTS = "/admin/comments/comment/"


def test_issue_page_shows_comments_read_only(admin_client, project):
    issue = IssueFactory(project=project)
    comment = CommentFactory(issue=issue, body="Visible here")
    html = admin_client.get(f"{CHANGELIST}{issue.pk}/change/").content.decode()
    assert "Visible here" in html
    assert 'name="comments-0-body"' not in html
    assert f"{COMMENTS}{comment.pk}/change/" in html


def test_comment_edit_in_the_admin_is_flagged(admin_client, project):
    author = UserFactory()
    comment = CommentFactory(issue=IssueFactory(project=project), author=author, body="Teh")
    response = admin_client.post(
        f"{COMMENTS}{comment.pk}/change/", {"body": "The", "author": UserFactory().pk}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    comment.refresh_from_db()
    assert (comment.body, comment.edited, comment.author) == ("The", True, author)


def test_comment_added_in_the_admin_is_authored_and_recorded(admin_client, project, site_admin):
    issue = IssueFactory(project=project)
    response = admin_client.post(f"{COMMENTS}add/", {"issue": issue.pk, "body": "From ops"})
    assert response.status_code == 302, response.content.decode()[:2000]
    comment = Comment.objects.get()
    assert (comment.issue, comment.author, comment.edited) == (issue, site_admin, False)
    event = issue.events.get()
    assert (event.kind, event.comment, event.actor) == ("commented", comment, site_admin)


def test_comment_edit_in_an_archived_project_is_a_form_error(admin_client, project):
    comment = CommentFactory(issue=IssueFactory(project=project), body="Frozen")
    Project.objects.filter(pk=project.pk).update(archived_at=timezone.now())
    response = admin_client.post(f"{COMMENTS}{comment.pk}/change/", {"body": "Thawed"})
    assert response.status_code == 200
    assert "archived and read-only" in response.content.decode()
    comment.refresh_from_db()
    assert (comment.body, comment.edited) == ("Frozen", False)
