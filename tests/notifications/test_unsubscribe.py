"""One-click unsubscribe (RFC 8058) from a mail's List-Unsubscribe URL: a GET only asks
(mail scanners follow links), the POST unsubscribes."""

import re

import pytest
from django.test import Client

from notifications.mail import unsubscribe_token
from notifications.models import IssueSubscription, NotificationSettings
from tests.state import database_state

pytestmark = pytest.mark.django_db


def comment(client, issue, body):
    response = client.post(f"/api/v1/issues/{issue.key}/comments", {"body": body}, format="json")
    assert response.status_code == 201


def unsubscribe_path(message) -> str:
    header = message["List-Unsubscribe"].strip()
    url = re.fullmatch(r"<(.+)>", header).group(1)
    return url.removeprefix("http://127.0.0.1:8000")


def test_one_click_post_from_the_mail_unsubscribes_from_the_issue(
    team, client_for, notify, deliver, smtp
):
    comment(client_for(team.reviewer), team.issue, "First.")
    notify()
    deliver()
    (mail,) = smtp.to(team.reporter.email)
    path = unsubscribe_path(mail)
    browser = Client(enforce_csrf_checks=True)  # as a mail provider: no session, no token

    asked = browser.get(path)
    assert asked.status_code == 200
    assert b"Stop hearing of activity on this issue?" in asked.content
    assert b'method="post"' in asked.content
    assert not IssueSubscription.objects.filter(user=team.reporter).exists()  # GET changes nothing

    done = browser.post(
        path,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert done.status_code == 200 and b"Unsubscribed" in done.content
    state = IssueSubscription.objects.get(user=team.reporter, issue=team.issue).state
    assert state == "unwatched"
    assert (
        browser.post(path, "List-Unsubscribe=One-Click", content_type="text/plain").status_code
        == 200
    )

    comment(client_for(team.reviewer), team.issue, "Second.")
    notify()
    deliver()
    assert len(smtp.to(team.reporter.email)) == 1  # nothing more
    assert len(smtp.to(team.developer.email)) == 2


def test_the_digest_link_stops_the_digest(team, client_for, notify, deliver, smtp):
    client_for(team.reporter).patch(
        "/api/v1/me/notification-settings", {"commented": "daily", "mentioned": "daily"}
    )
    comment(client_for(team.reviewer), team.issue, "For the digest.")
    notify()
    deliver(digests=True)
    (mail,) = smtp.to(team.reporter.email)

    response = Client().post(unsubscribe_path(mail))
    assert response.status_code == 200
    email = NotificationSettings.objects.get(user=team.reporter).email
    assert email == {"commented": "never", "mentioned": "never"}


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        unsubscribe_token(user_id=1, issue_ids=[1])[:-3] + "abc",
        "eyJ1Ijo1fQ:1xZcxS:forged",
    ],
)
def test_a_bad_token_changes_nothing(team, token):
    before = database_state()
    for method in ("get", "post"):
        response = getattr(Client(), method)(f"/unsubscribe/{token}")
        assert response.status_code == 404
        assert b"not valid" in response.content
    assert database_state() == before


def test_a_token_of_a_deleted_user_does_nothing(team):
    token = unsubscribe_token(user_id=team.viewer.pk, issue_ids=[team.issue.pk])
    team.viewer.delete()
    response = Client().post(f"/unsubscribe/{token}")
    assert response.status_code == 200
    assert not IssueSubscription.objects.exists()
