"""The issue workflow in the admin: the list's actions ask for a resolution or a comment
on an intermediate page when a transition needs one, and the change page offers the
transitions open to the operator, with the reason for each one refused."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from comments.models import Comment
from issues.models import Issue, IssueEvent, IssueRelation
from issues.services import issue_available_transitions
from tests.factories import IssueFactory, ProjectFactory

pytestmark = pytest.mark.django_db

ISSUES = "/admin/issues/issue/"
CLOSE_OPTIONS = ["", "fixed", "duplicate", "wont_fix", "cannot_reproduce", "obsolete"]


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def act(client, action: str, *issues, **inputs):
    """Run a list action on `issues`; with `inputs`, as the confirmation page submits it."""
    data = {"action": action, "_selected_action": [issue.pk for issue in issues]}
    if inputs:
        data = {**data, "confirm": "yes", **inputs}
    else:
        data["index"] = "0"  # the action bar's button
    return client.post(ISSUES, data)


def transitions(issue) -> list[tuple]:
    return list(
        issue.events.filter(kind=IssueEvent.Kind.TRANSITIONED).values_list(
            "from_status", "to_status", "resolution", "comment__body"
        )
    )


def form_errors(response) -> dict:
    return response.context["form"].errors


@pytest.fixture
def issue(project):
    return IssueFactory(project=project, title="Pager goes off at night")


# -- the list's actions ----------------------------------------------------------------


def test_closing_an_open_issue_asks_for_a_resolution_first(admin_client, issue):
    response = act(admin_client, "move_to_closed", issue)

    assert response.status_code == 200
    assert response.templates[0].name == "admin/issues/issue/transition.html"
    page = response.content.decode()
    assert f"{issue.key}: Pager goes off at night (open)" in page
    assert f'name="_selected_action" value="{issue.pk}"' in page
    assert '<input type="hidden" name="action" value="move_to_closed">' in page
    form = response.context["form"]
    assert list(form.fields) == ["resolution"]
    assert [value for value, _ in form.fields["resolution"].choices] == CLOSE_OPTIONS
    issue.refresh_from_db()
    assert issue.status == "open"
    assert transitions(issue) == []


def test_the_confirmation_page_closes_with_the_chosen_resolution(admin_client, site_admin, issue):
    response = act(admin_client, "move_to_closed", issue, resolution="wont_fix")

    assert response.status_code == 302
    assert messages_of(response) == ["Moved 1 issue(s) to closed."]
    issue.refresh_from_db()
    assert (issue.status, issue.resolution) == ("closed", "wont_fix")
    assert transitions(issue) == [("open", "closed", "wont_fix", None)]
    assert issue.events.get(kind=IssueEvent.Kind.TRANSITIONED).actor == site_admin


def test_closing_as_a_duplicate_needs_the_issue_it_duplicates(admin_client, issue):
    response = act(admin_client, "move_to_closed", issue, resolution="duplicate")

    assert messages_of(response) == [
        f"{issue.key}: Name the issue this one duplicates to resolve it as a duplicate."
    ]
    issue.refresh_from_db()
    assert issue.status == "open"
    assert transitions(issue) == []

    original = IssueFactory(project=issue.project)
    IssueRelation.objects.create(source=issue, target=original, type="duplicate_of")
    act(admin_client, "move_to_closed", issue, resolution="duplicate")
    issue.refresh_from_db()
    assert (issue.status, issue.resolution) == ("closed", "duplicate")


@pytest.mark.parametrize(
    ("resolution", "error"),
    [
        ("", "Choose a resolution."),
        ("fixed-ish", "Select a valid choice. fixed-ish is not one of the available choices."),
    ],
)
def test_a_missing_or_unknown_resolution_shows_the_page_again(
    admin_client, issue, resolution, error
):
    response = act(admin_client, "move_to_closed", issue, resolution=resolution)

    assert response.status_code == 200
    assert form_errors(response) == {"resolution": [error]}
    assert error in response.content.decode()
    issue.refresh_from_db()
    assert (issue.status, issue.resolution) == ("open", "")
    assert transitions(issue) == []


def test_requesting_changes_records_the_comment(admin_client, site_admin, project, member_of):
    developer = member_of(project, "developer")
    issue = IssueFactory(project=project, assignee=developer, status="in_review")

    asked = act(admin_client, "move_to_in_progress", issue)
    response = act(admin_client, "move_to_in_progress", issue, comment="Needs a test.")

    assert list(asked.context["form"].fields) == ["comment"]
    assert response.status_code == 302
    issue.refresh_from_db()
    assert issue.status == "in_progress"
    assert transitions(issue) == [("in_review", "in_progress", "", "Needs a test.")]
    comment = Comment.objects.get(issue=issue)
    assert (comment.author, comment.body) == (site_admin, "Needs a test.")


def test_a_blank_comment_shows_the_page_again(admin_client, project):
    issue = IssueFactory(project=project, status="closed", resolution="fixed")

    response = act(admin_client, "move_to_open", issue, comment="   ")

    assert response.status_code == 200
    assert form_errors(response) == {"comment": ["Write a comment saying why."]}
    issue.refresh_from_db()
    assert (issue.status, issue.resolution) == ("closed", "fixed")
    assert not Comment.objects.exists()
    assert transitions(issue) == []


def test_the_resolution_goes_only_to_the_issues_that_take_one(admin_client, project, issue):
    resolved = IssueFactory(
        project=project, status="resolved", resolution="fixed", resolved_at=timezone.now()
    )

    response = act(admin_client, "move_to_closed", issue, resolved, resolution="wont_fix")

    assert messages_of(response) == ["Moved 2 issue(s) to closed."]
    assert transitions(issue) == [("open", "closed", "wont_fix", None)]
    # Closing a resolved issue keeps the resolution it was resolved with.
    assert transitions(resolved) == [("resolved", "closed", "fixed", None)]
    resolved.refresh_from_db()
    assert (resolved.status, resolved.resolution) == ("closed", "fixed")


def test_each_refusal_is_reported_and_the_others_move(admin_client, issue):
    archived = ProjectFactory(key="OLD", archived_at=timezone.now())
    frozen = IssueFactory(project=archived, title="Frozen")

    asked = act(admin_client, "move_to_closed", issue, frozen)
    response = act(admin_client, "move_to_closed", issue, frozen, resolution="obsolete")

    assert "OLD-1: Frozen (open): will be refused, " in asked.content.decode()
    assert messages_of(response) == [
        "OLD-1: This project is archived and read-only.",
        "Moved 1 issue(s) to closed.",
    ]
    issue.refresh_from_db()
    frozen.refresh_from_db()
    assert (issue.status, frozen.status) == ("closed", "open")
    assert transitions(frozen) == []


def test_transitions_that_need_nothing_run_at_once(admin_client, project, member_of):
    developer = member_of(project, "developer")
    issue = IssueFactory(project=project, assignee=developer)

    response = act(admin_client, "move_to_in_progress", issue)

    assert response.status_code == 302
    assert messages_of(response) == ["Moved 1 issue(s) to in_progress."]
    assert transitions(issue) == [("open", "in_progress", "", None)]


def test_resolving_takes_the_workflows_default_resolution(admin_client, project, member_of):
    developer = member_of(project, "developer")
    issue = IssueFactory(project=project, assignee=developer, status="in_review")

    response = act(admin_client, "move_to_resolved", issue)

    assert response.status_code == 302
    assert transitions(issue) == [("in_review", "resolved", "fixed", None)]


# -- the change page -----------------------------------------------------------------------


def change_page(client, issue):
    return client.get(f"{ISSUES}{issue.pk}/change/")


def take(client, issue, status: str, **inputs):
    return client.post(f"{ISSUES}{issue.pk}/transition/", {"status": status, **inputs})


def offered(response) -> dict[str, tuple]:
    return {
        step["option"].name: (
            step["option"].allowed,
            step["option"].reason,
            list(step["form"].fields),
        )
        for step in response.context["workflow"]
    }


def test_the_change_page_offers_the_transitions_with_the_reasons_for_refusals(admin_client, issue):
    response = change_page(admin_client, issue)

    assert response.status_code == 200
    # A site admin acts as an owner: only the workflow's own rule stops them here.
    assert offered(response) == {
        "start": (False, "The issue must have an assignee.", []),
        "close": (True, None, ["resolution"]),
    }
    page = response.content.decode()
    assert "The issue must have an assignee." in page
    assert f'action="/admin/issues/issue/{issue.pk}/transition/"' in page
    assert 'id="id_close_resolution"' in page


def test_a_staff_developer_sees_why_they_may_not_close(project, member_of):
    developer = member_of(project, "developer")
    developer.is_staff = True
    developer.save()
    developer.user_permissions.add(*Permission.objects.filter(codename__endswith="_issue"))
    issue = IssueFactory(project=project, assignee=developer)
    client = Client()
    client.force_login(developer)

    response = change_page(client, issue)
    refused = take(client, issue, "closed", resolution="fixed")

    # The reason is the workflow's (its wording belongs to the rights table).
    reason = next(s.reason for s in issue_available_transitions(issue=issue, user=developer))
    assert reason.startswith("Only the issue's reporter, or a maintainer")
    assert offered(response) == {"start": (True, None, []), "close": (False, reason, [])}
    assert escape(reason) in response.content.decode()
    assert refused.status_code == 302
    assert messages_of(refused) == [f"{issue.key}: {reason}"]
    issue.refresh_from_db()
    assert issue.status == "open"


def test_a_transition_is_taken_from_the_change_page(admin_client, issue):
    response = take(admin_client, issue, "closed", resolution="cannot_reproduce")

    assert response.status_code == 302
    assert response["Location"] == f"{ISSUES}{issue.pk}/change/"
    assert messages_of(response) == ["Moved 1 issue(s) to closed."]
    issue.refresh_from_db()
    assert (issue.status, issue.resolution) == ("closed", "cannot_reproduce")
    assert transitions(issue) == [("open", "closed", "cannot_reproduce", None)]


def test_reopening_from_the_change_page_needs_a_comment(admin_client, project):
    issue = IssueFactory(project=project, status="closed", resolution="fixed")

    missing = take(admin_client, issue, "open")
    issue.refresh_from_db()
    status_after_missing = issue.status
    reopened = take(admin_client, issue, "open", comment="It is back.")

    assert missing.status_code == 200
    assert form_errors(missing) == {"comment": ["Write a comment saying why."]}
    assert '<input type="hidden" name="status" value="open">' in missing.content.decode()
    assert status_after_missing == "closed"
    assert reopened.status_code == 302
    issue.refresh_from_db()
    assert (issue.status, issue.resolution) == ("open", "")
    assert transitions(issue) == [("closed", "open", "", "It is back.")]


def test_a_refused_transition_from_the_change_page_changes_nothing(admin_client, issue):
    response = take(admin_client, issue, "in_progress")

    assert response.status_code == 302
    assert messages_of(response) == [f"{issue.key}: The issue must have an assignee."]
    issue.refresh_from_db()
    assert issue.status == "open"
    assert transitions(issue) == []


def test_an_unreachable_status_is_refused_with_the_reachable_ones(admin_client, issue):
    response = take(admin_client, issue, "resolved")

    [message] = messages_of(response)
    refusal, _, reachable = message.partition(" it can go to: ")
    assert refusal == f"{issue.key}: Cannot move an issue from open to resolved; from open"
    assert sorted(reachable.rstrip(".").split(", ")) == ["closed", "in_progress"]
    issue.refresh_from_db()
    assert issue.status == "open"


def test_the_transition_url_only_takes_posts(admin_client, issue):
    response = admin_client.get(f"{ISSUES}{issue.pk}/transition/")

    assert response.status_code == 302
    assert response["Location"] == f"{ISSUES}{issue.pk}/change/"
    issue.refresh_from_db()
    assert issue.status == "open"


def test_an_unknown_issue_is_not_found(admin_client):
    response = take(admin_client, Issue(pk=999_999), "closed", resolution="fixed")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert messages_of(response) == [
        "issue with ID \u201c999999\u201d doesn\u2019t exist. Perhaps it was deleted?"
    ]


def test_the_transition_url_needs_an_operator(client, issue):
    response = take(client, issue, "closed", resolution="fixed")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    issue.refresh_from_db()
    assert issue.status == "open"
