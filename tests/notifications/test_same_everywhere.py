"""A mention made through a personal access token, by a bot, through the admin and through
the API by a signed-in person gives the same notification: the worker reads it from the
event, whatever path wrote it."""

import re

import pytest
from django.test import Client

from notifications.models import MailItem, Thread
from projects.models import Role
from tests.factories import IssueFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def paths(team, client_for, pat_client, site_admin):
    """Four ways to comment on an issue: name -> (actor, post(issue, body))."""
    person = client_for(team.reviewer)
    token = pat_client(team.reviewer, ["comments:write"])
    owner = client_for(team.owner)
    bot_name = owner.post(
        f"/api/v1/projects/{team.project.key}/bots", {"name": "ci", "role": "reporter"}
    ).json()["user"]["username"]
    secret = owner.post(
        f"/api/v1/projects/{team.project.key}/bots/{bot_name}/tokens",
        {"name": "pipeline", "scopes": ["comments:write"]},
        format="json",
    ).json()["token"]
    bot = client_for(None)
    bot.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    bot_user = team.project.memberships.get(user__username=bot_name).user
    MembershipFactory(project=team.project, user=site_admin, role=Role.OWNER)
    admin = Client()
    admin.force_login(site_admin)

    def api(client):
        def post(issue, body):
            url = f"/api/v1/issues/{issue.key}/comments"
            response = client.post(url, {"body": body}, format="json")
            assert response.status_code == 201, response.content

        return post

    def through_admin(issue, body):
        response = admin.post("/admin/comments/comment/add/", {"issue": issue.pk, "body": body})
        assert response.status_code == 302, response.content.decode()[:500]

    return {
        "person": (team.reviewer, api(person)),
        "token": (team.reviewer, api(token)),
        "bot": (bot_user, api(bot)),
        "admin": (site_admin, through_admin),
    }


def normalized(text: str, actor, key: str) -> str:
    name = actor.display_name or actor.username
    text = text.replace(name, "ACTOR").replace(key, "KEY")
    return re.sub(r"/unsubscribe/\S+", "/unsubscribe/TOKEN", text)


def test_a_mention_notifies_the_same_whichever_way_it_was_made(team, paths, notify, deliver, smtp):
    seen = {}
    for name, (actor, post) in paths.items():
        issue = IssueFactory(project=team.project, reporter=team.owner, title="Same title")
        post(issue, f"@{team.viewer.username}, please look at this.")
        notify()
        deliver()
        thread = Thread.objects.get(user=team.viewer, issue=issue)
        item = MailItem.objects.get(user=team.viewer, issue=issue)
        (mail,) = [m for m in smtp.to(team.viewer.email) if issue.key in m["Subject"]]
        assert (thread.actor, thread.event.actor) == (actor, actor), name
        seen[name] = {
            "thread": (thread.reason, thread.event.type, thread.read_at, thread.done_at),
            "mail item": (item.reason, item.delivery),
            "subject": normalized(mail["Subject"], actor, issue.key),
            "reason header": mail["X-Tracker-Reason"],
            "text": normalized(mail.get_body(("plain",)).get_content(), actor, issue.key),
            "html": normalized(mail.get_body(("html",)).get_content(), actor, issue.key),
        }

    first = seen["person"]
    assert first["thread"] == ("mentioned", "comment.created", None, None)
    assert first["mail item"] == ("mentioned", "immediately")
    assert "ACTOR mentioned you in a comment on KEY:" in first["text"]
    for name, notification in seen.items():
        assert notification == first, name
