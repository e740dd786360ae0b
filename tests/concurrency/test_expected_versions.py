"""A service that writes owns its lock and its precondition (api/versions.py): called twice
at once with the same expected version, as two operators or two workers would, one call
wins and the other gets PreconditionFailed, on PostgreSQL with real threads."""

import pytest

from accounts.services import user_update
from api.errors import PreconditionFailed
from api.versions import Expected, row_version, updated_at_version
from comments.services import comment_update
from issues.models import IssueEvent
from issues.services import issue_transition, issue_update, label_update
from projects.models import Membership, Role
from projects.services import membership_change_role, project_update
from tests.factories import CommentFactory, IssueFactory, LabelFactory, UserFactory
from tests.threads import race
from webhooks.services import webhook_create, webhook_update

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _issue(project, actor):
    issue = IssueFactory(project=project, title="Before")
    return (
        issue,
        updated_at_version,
        lambda value, expected: issue_update(
            issue=issue, actor=actor, title=value, expected=expected
        ),
        lambda: type(issue).objects.get(pk=issue.pk).title,
    )


def _label(project, actor):
    label = LabelFactory(project=project, name="before")
    return (
        label,
        row_version,
        lambda value, expected: label_update(
            label=label, actor=actor, name=value, expected=expected
        ),
        lambda: type(label).objects.get(pk=label.pk).name,
    )


def _project(project, actor):
    return (
        project,
        updated_at_version,
        lambda value, expected: project_update(
            project=project, actor=actor, name=value, expected=expected
        ),
        lambda: type(project).objects.get(pk=project.pk).name,
    )


def _membership(project, actor):
    membership = Membership.objects.create(project=project, user=UserFactory(), role=Role.VIEWER)
    roles = {"first": Role.REPORTER, "second": Role.DEVELOPER}
    return (
        membership,
        row_version,
        lambda value, expected: membership_change_role(
            membership=membership, role=roles[value], actor=actor, expected=expected
        ),
        lambda: {v: k for k, v in roles.items()}.get(
            Membership.objects.get(pk=membership.pk).role
        ),
    )


def _comment(project, actor):
    comment = CommentFactory(issue=IssueFactory(project=project), body="Before")
    return (
        comment,
        updated_at_version,
        lambda value, expected: comment_update(
            comment=comment, actor=actor, body=value, expected=expected
        ),
        lambda: type(comment).objects.get(pk=comment.pk).body,
    )


def _webhook(project, actor):
    webhook = webhook_create(project=project, creator=actor, url="https://8.8.8.8/hook")
    return (
        webhook,
        row_version,
        lambda value, expected: webhook_update(
            webhook=webhook, description=value, expected=expected
        ),
        lambda: type(webhook).objects.get(pk=webhook.pk).description,
    )


def _user(project, actor):
    user = UserFactory(display_name="Before")
    return (
        user,
        row_version,
        lambda value, expected: user_update(user=user, display_name=value, expected=expected),
        lambda: type(user).objects.get(pk=user.pk).display_name,
    )


WRITES = {
    "issue": _issue,
    "label": _label,
    "project": _project,
    "membership": _membership,
    "comment": _comment,
    "webhook": _webhook,
    "user": _user,
}


@pytest.mark.parametrize("kind", WRITES)
def test_two_writes_from_one_version_have_one_winner(project, kind):
    row, version_of, write, stored = WRITES[kind](project, project.created_by)
    expected = Expected.of(version_of(row), version_of)

    def attempt(value):
        def run():
            try:
                write(value, expected)
            except PreconditionFailed:
                return ("refused", value)
            return ("won", value)

        return run

    results = race([attempt("first"), attempt("second")])

    assert sorted(outcome for outcome, _ in results) == ["refused", "won"], results
    [winner] = [value for outcome, value in results if outcome == "won"]
    assert stored() == winner


def test_two_transitions_from_one_version_have_one_winner(project, member_of):
    """Two moves of one issue, each allowed from where both callers saw it: the version
    they read decides, not the workflow (which lets a close follow a start)."""
    assignee = member_of(project, "developer")
    issue = IssueFactory(project=project, status="open", assignee=assignee)
    expected = Expected.of(updated_at_version(issue), updated_at_version)
    owner = project.created_by

    def attempt(user, target):
        def run():
            try:
                issue_transition(
                    issue=issue, user=user, status=target, resolution="wont_fix", expected=expected
                )
            except PreconditionFailed:
                return ("refused", target)
            return ("won", target)

        return run

    results = race([attempt(assignee, "in_progress"), attempt(owner, "closed")])

    assert sorted(outcome for outcome, _ in results) == ["refused", "won"], results
    [winner] = [target for outcome, target in results if outcome == "won"]
    issue.refresh_from_db()
    assert issue.status == winner
    moves = IssueEvent.objects.filter(issue=issue, kind=IssueEvent.Kind.TRANSITIONED)
    assert [(e.from_status, e.to_status) for e in moves] == [("open", winner)]
