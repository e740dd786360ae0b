"""Who hears of what, for every reason: changes made through the API, the worker reading
the outbox, mail through a real SMTP server (aiosmtpd) started by the test."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from issues.models import IssueRelation
from notifications.models import IssueSubscription, MailItem, Thread
from projects.models import Role
from tests.factories import IssueFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def inbox(user) -> dict[str, str]:
    """The person's threads: issue key -> latest reason."""
    threads = Thread.objects.filter(user=user).select_related("issue__project")
    return {t.issue.key: t.reason for t in threads}


def reasons_by_mail(smtp, user) -> list[str]:
    return [message["X-Tracker-Reason"] for message in smtp.to(user.email)]


def comment(client, issue, body):
    response = client.post(f"/api/v1/issues/{issue.key}/comments", {"body": body}, format="json")
    assert response.status_code == 201, response.json()
    return response


def test_an_assignee_hears_they_were_assigned_when_an_issue_is_created(
    team, client_for, notify, deliver, smtp
):
    response = client_for(team.owner).post(
        f"/api/v1/projects/{team.project.key}/issues",
        {"title": "Crash on save", "assignee": team.reviewer.username},
        format="json",
    )
    assert response.status_code == 201
    notify()
    deliver()

    key = response.json()["key"]
    assert inbox(team.reviewer) == {key: "assigned"}
    assert inbox(team.owner) == {}  # the actor
    (mail,) = smtp.to(team.reviewer.email)
    assert mail["Subject"] == f"[{key}] Crash on save"
    assert mail["X-Tracker-Reason"] == "assigned"
    assert "assigned it to you" in mail.get_body(("plain",)).get_content()
    assert [to for to, _ in smtp.received] == [[team.reviewer.email]]


def test_a_new_assignee_hears_assigned_and_the_other_participants_subscribed(
    team, client_for, notify, deliver, smtp
):
    response = client_for(team.owner).patch(
        f"/api/v1/issues/{team.issue.key}", {"assignee": team.reviewer.username}, format="json"
    )
    assert response.status_code == 200
    notify()
    deliver()

    key = team.issue.key
    assert inbox(team.reviewer) == {key: "assigned"}
    assert inbox(team.reporter) == {key: "subscribed"}
    # The former assignee is no longer one of its participants.
    assert inbox(team.developer) == {}
    assert inbox(team.owner) == {}
    assert reasons_by_mail(smtp, team.reviewer) == ["assigned"]
    assert reasons_by_mail(smtp, team.reporter) == ["subscribed"]


def test_mentions_in_a_description_notify_and_an_edit_only_the_new_ones(
    team, client_for, notify, deliver, smtp
):
    owner = client_for(team.owner)
    response = owner.post(
        f"/api/v1/projects/{team.project.key}/issues",
        {"title": "Plan", "description": f"@{team.viewer.username} please read"},
        format="json",
    )
    key = response.json()["key"]
    notify()
    assert inbox(team.viewer) == {key: "mentioned"}
    Thread.objects.filter(user=team.viewer).update(read_at="2030-01-01T00:00:00Z")

    description = f"@{team.viewer.username} please read, and @{team.reviewer.username} too"
    response = owner.patch(f"/api/v1/issues/{key}", {"description": description}, format="json")
    assert response.status_code == 200
    notify()
    deliver()

    assert inbox(team.reviewer) == {key: "mentioned"}
    # Already mentioned before the edit: a participant now, told of the edit as one.
    assert inbox(team.viewer) == {key: "subscribed"}
    assert reasons_by_mail(smtp, team.reviewer) == ["mentioned"]
    text = smtp.to(team.reviewer.email)[0].get_body(("plain",)).get_content()
    assert "mentioned you in the description" in text


def test_a_mention_in_a_comment_notifies_and_an_edit_only_new_mentions(
    team, client_for, notify, deliver, smtp
):
    reviewer = client_for(team.reviewer)
    response = comment(reviewer, team.issue, f"What do you think, @{team.viewer.username}?")
    notify()
    assert inbox(team.viewer) == {team.issue.key: "mentioned"}
    MailItem.objects.all().delete()
    Thread.objects.all().delete()

    body = f"What do you think, @{team.viewer.username}? And @{team.owner.username}?"
    edited = reviewer.patch(
        f"/api/v1/comments/{response.json()['id']}", {"body": body}, format="json"
    )
    assert edited.status_code == 200
    notify()
    deliver()

    assert inbox(team.owner) == {team.issue.key: "mentioned"}
    assert inbox(team.viewer) == {}  # mentioned before the edit: not again
    assert inbox(team.reporter) == {}  # an edit is not new activity for participants
    assert reasons_by_mail(smtp, team.owner) == ["mentioned"]
    assert "edited comment" in smtp.to(team.owner.email)[0].get_body(("plain",)).get_content()


def test_a_comment_tells_the_participants_but_not_its_author(
    team, client_for, notify, deliver, smtp
):
    comment(client_for(team.reviewer), team.issue, "I can reproduce it.")
    notify()
    deliver()

    key = team.issue.key
    assert inbox(team.reporter) == {key: "commented"}
    assert inbox(team.developer) == {key: "commented"}
    assert inbox(team.reviewer) == {}
    assert inbox(team.viewer) == {}  # takes no part
    assert sorted(to[0] for to, _ in smtp.received) == sorted(
        [team.reporter.email, team.developer.email]
    )
    # Having commented, the reviewer hears of the next comment.
    comment(client_for(team.reporter), team.issue, "Thanks!")
    notify()
    assert inbox(team.reviewer) == {key: "commented"}


def test_entering_review_asks_those_who_may_review_and_tells_the_others(
    team, client_for, notify, deliver, smtp
):
    comment(client_for(team.reviewer), team.issue, "I will review it.")
    notify()
    Thread.objects.all().delete()
    MailItem.objects.all().delete()
    developer = client_for(team.developer)
    for status in ("in_progress", "in_review"):
        response = developer.post(
            f"/api/v1/issues/{team.issue.key}/status", {"status": status}, format="json"
        )
        assert response.status_code == 200, response.json()
    notify()
    deliver()

    key = team.issue.key
    assert inbox(team.reviewer) == {key: "review_requested"}
    assert inbox(team.reporter) == {key: "state_changed"}  # a reporter cannot review
    assert inbox(team.developer) == {}
    # Both steps in one batch, so one mail: started, then submitted for review.
    assert reasons_by_mail(smtp, team.reviewer) == ["review_requested, state_changed"]
    assert reasons_by_mail(smtp, team.reporter) == ["state_changed"]
    assert "for review" in smtp.to(team.reviewer.email)[0].get_body(("plain",)).get_content()


def test_closing_tells_the_reporter_the_state_changed(team, client_for, notify, deliver, smtp):
    response = client_for(team.owner).post(
        f"/api/v1/issues/{team.issue.key}/status",
        {"status": "closed", "resolution": "wont_fix"},
        format="json",
    )
    assert response.status_code == 200
    notify()
    deliver()

    assert inbox(team.reporter) == {team.issue.key: "state_changed"}
    assert inbox(team.developer) == {team.issue.key: "state_changed"}
    (mail,) = smtp.to(team.reporter.email)
    assert "from open to closed (wont_fix)" in mail.get_body(("plain",)).get_content()


def test_watchers_of_an_issue_and_of_a_project_hear_as_subscribed(
    team, client_for, notify, deliver, smtp
):
    viewer, outsider_watch = client_for(team.viewer), UserFactory()
    MembershipFactory(project=team.project, user=outsider_watch, role=Role.VIEWER)
    assert viewer.put(f"/api/v1/issues/{team.issue.key}/subscription").status_code == 200
    new_issues = client_for(outsider_watch)
    response = new_issues.put(
        f"/api/v1/projects/{team.project.key}/subscription", {"level": "new_issues"}, format="json"
    )
    assert response.status_code == 200

    owner = client_for(team.owner)
    owner.patch(f"/api/v1/issues/{team.issue.key}", {"priority": "high"}, format="json")
    created = owner.post(f"/api/v1/projects/{team.project.key}/issues", {"title": "Another"})
    notify()
    deliver()

    new_key = created.json()["key"]
    assert inbox(team.viewer) == {team.issue.key: "subscribed"}
    assert inbox(outsider_watch) == {new_key: "subscribed"}  # not the edit of the old one
    assert "changed priority" in smtp.to(team.viewer.email)[0].get_body(("plain",)).get_content()
    assert (
        f"opened {new_key}" in smtp.to(outsider_watch.email)[0].get_body(("plain",)).get_content()
    )


def test_watching_a_whole_project_hears_its_comments(team, client_for, notify):
    client_for(team.viewer).put(f"/api/v1/projects/{team.project.key}/subscription")
    comment(client_for(team.reporter), team.issue, "Any news?")
    notify()
    assert inbox(team.viewer) == {team.issue.key: "commented"}


def test_unwatching_is_remembered_and_a_later_mention_notifies_once(
    team, client_for, notify, deliver, smtp
):
    reporter = client_for(team.reporter)
    assert reporter.delete(f"/api/v1/issues/{team.issue.key}/subscription").status_code == 204
    comment(client_for(team.reviewer), team.issue, "A first comment.")
    comment(reporter, team.issue, "The reporter comments too.")
    notify()
    assert inbox(team.reporter) == {}

    comment(client_for(team.reviewer), team.issue, f"@{team.reporter.username}: is it fixed?")
    notify()
    assert inbox(team.reporter) == {team.issue.key: "mentioned"}
    Thread.objects.filter(user=team.reporter).delete()

    comment(client_for(team.reviewer), team.issue, "Another comment, no mention.")
    notify()
    deliver()
    assert inbox(team.reporter) == {}
    assert reasons_by_mail(smtp, team.reporter) == ["mentioned"]
    state = IssueSubscription.objects.get(user=team.reporter, issue=team.issue).state
    assert state == "unwatched"


def test_a_mention_of_someone_who_cannot_see_the_issue_is_plain_text(
    team, client_for, notify, deliver, smtp
):
    reviewer = client_for(team.reviewer)
    hidden = comment(reviewer, team.issue, f"Ask @{team.outsider.username} about it")
    nobody = comment(reviewer, team.issue, "Ask @no-such-user-at-all about it")
    notify()
    deliver()

    assert inbox(team.outsider) == {}
    assert smtp.to(team.outsider.email) == []
    assert not IssueSubscription.objects.filter(user=team.outsider).exists()
    # The answer is the same as for a name that is no user: nothing tells them apart.
    first, second = hidden.json(), nobody.json()
    assert set(first) == set(second)
    assert {
        k: v
        for k, v in first.items()
        if k not in ("id", "url", "body", "created_at", "updated_at")
    } == {
        k: v
        for k, v in second.items()
        if k not in ("id", "url", "body", "created_at", "updated_at")
    }


def test_addresses_code_and_unknown_names_notify_nobody(team, client_for, notify):
    body = (
        f"Mail {team.viewer.username}@example.com, see `@{team.viewer.username}`, "
        f"and\n```\n@{team.owner.username}\n```\n@nobody-by-this-name"
    )
    comment(client_for(team.reviewer), team.issue, body)
    notify()
    assert inbox(team.viewer) == {}
    assert inbox(team.owner) == {}


def test_nobody_is_notified_of_their_own_mention(team, client_for, notify):
    comment(client_for(team.reporter), team.issue, f"Note to self, @{team.reporter.username}")
    notify()
    assert inbox(team.reporter) == {}


def test_bots_can_be_mentioned_and_can_mention(team, client_for, notify, deliver, smtp):
    owner = client_for(team.owner)
    response = owner.post(
        f"/api/v1/projects/{team.project.key}/bots",
        {"name": "ci", "role": "reporter"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    bot_name = response.json()["user"]["username"]
    comment(owner, team.issue, f"@{bot_name} run the tests")
    notify()
    bot = team.project.memberships.get(user__username=bot_name).user
    assert inbox(bot) == {team.issue.key: "mentioned"}

    token = owner.post(
        f"/api/v1/projects/{team.project.key}/bots/{bot_name}/tokens",
        {"name": "pipeline", "scopes": ["comments:write"]},
        format="json",
    ).json()["token"]
    bot_client = client_for(None)
    bot_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    comment(bot_client, team.issue, f"@{team.viewer.username} the tests pass")
    notify()
    deliver()
    thread = Thread.objects.get(user=team.viewer)
    assert (thread.reason, thread.actor) == ("mentioned", bot)
    assert smtp.to(bot.email) == []  # bots read their inbox; their address is never mailed
    assert reasons_by_mail(smtp, team.viewer) == ["mentioned"]


def test_the_assignee_and_watchers_hear_when_an_issue_is_unblocked(
    team, client_for, notify, deliver, smtp
):
    blocker = IssueFactory(project=team.project, title="Schema migration")
    IssueRelation.objects.create(source=blocker, target=team.issue, type="blocks")
    IssueRelation.objects.create(
        source=IssueFactory(project=team.project, status="closed", resolution="fixed"),
        target=team.issue,
        type="blocks",
    )
    IssueSubscription.objects.create(user=team.viewer, issue=team.issue, state="watching")

    response = client_for(team.owner).post(
        f"/api/v1/issues/{blocker.key}/status",
        {"status": "closed", "resolution": "wont_fix"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    notify()
    deliver()

    assert inbox(team.developer) == {team.issue.key: "state_changed"}
    assert inbox(team.viewer) == {team.issue.key: "state_changed"}
    assert inbox(team.reporter) == {}  # a participant, but neither assignee nor watcher
    assert reasons_by_mail(smtp, team.developer) == ["state_changed"]
    (mail,) = smtp.to(team.developer.email)
    assert f"{team.issue.key} is no longer blocked" in mail.get_body(("plain",)).get_content()


def test_participants_hear_of_a_new_attachment(team, client_for, notify, deliver, smtp):
    response = client_for(team.developer).post(
        f"/api/v1/issues/{team.issue.key}/attachments",
        {"file": SimpleUploadedFile("trace.log", b"Traceback ...")},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    notify()
    deliver()

    assert inbox(team.reporter) == {team.issue.key: "subscribed"}
    assert inbox(team.developer) == {}  # the uploader
    assert inbox(team.outsider) == {}
    assert reasons_by_mail(smtp, team.reporter) == ["subscribed"]
    (mail,) = smtp.to(team.reporter.email)
    text = mail.get_body(("plain",)).get_content()
    assert f"{team.developer.display_name} attached trace.log to {team.issue.key}." in text
