"""GET/PATCH /me/notification-settings, and watching issues and projects."""

import pytest

from notifications.models import IssueSubscription, NotificationSettings, ProjectSubscription
from tests.factories import CommentFactory, IssueSubscriptionFactory, ProjectSubscriptionFactory
from tests.state import database_state

pytestmark = pytest.mark.django_db

SETTINGS = "/api/v1/me/notification-settings"
DEFAULTS = {
    "assigned": "immediately",
    "mentioned": "immediately",
    "review_requested": "batched",
    "state_changed": "batched",
    "commented": "batched",
    "subscribed": "batched",
}


def test_the_defaults_send_mentions_and_assignments_at_once_and_batch_the_rest(team, client_for):
    response = client_for(team.viewer).get(SETTINGS)
    assert response.status_code == 200
    assert response.json() == DEFAULTS


def test_a_change_keeps_the_other_reasons(team, client_for):
    client = client_for(team.viewer)
    first = client.patch(SETTINGS, {"commented": "daily"}, format="json")
    second = client.patch(SETTINGS, {"mentioned": "never"}, format="json")

    assert first.status_code == second.status_code == 200
    assert second.json() == DEFAULTS | {"commented": "daily", "mentioned": "never"}
    assert client.get(SETTINGS).json() == second.json()
    stored = NotificationSettings.objects.get(user=team.viewer).email
    assert stored == {"commented": "daily", "mentioned": "never"}


@pytest.mark.parametrize(
    "body, field",
    [
        ({"commented": "weekly"}, "commented"),
        ({"mentioned": None}, "mentioned"),
        ({"assigned": 1}, "assigned"),
        ({"shouted": "never"}, "shouted"),
        ({"commented": "never", "email": "never"}, "email"),
    ],
)
def test_an_invalid_setting_is_a_400_naming_the_field_and_changes_nothing(
    team, client_for, body, field
):
    client = client_for(team.viewer)
    client.patch(SETTINGS, {"subscribed": "never"}, format="json")
    before = database_state()

    response = client.patch(SETTINGS, body, format="json")

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert database_state() == before


def test_watching_an_issue_and_why(team, client_for):
    viewer = client_for(team.viewer)
    url = f"/api/v1/issues/{team.issue.key}/subscription"
    assert viewer.get(url).json() == {"subscribed": False, "reason": None}

    watched = viewer.put(url)
    assert watched.status_code == 200
    assert watched.json() == {"subscribed": True, "reason": "watching"}
    assert viewer.put(url).json() == {"subscribed": True, "reason": "watching"}  # idempotent

    assert viewer.delete(url).status_code == 204
    assert viewer.get(url).json() == {"subscribed": False, "reason": "unwatched"}
    state = IssueSubscription.objects.get(user=team.viewer, issue=team.issue).state
    assert state == "unwatched"


@pytest.mark.parametrize(
    "who, reason",
    [
        ("reporter", "reporter"),
        ("developer", "assignee"),
        ("commenter", "commented"),
        ("mentioned", "mentioned"),
        ("project", "project"),
        ("new_issues", None),
    ],
)
def test_the_subscription_says_why_someone_takes_part(team, client_for, who, reason):
    user = {"reporter": team.reporter, "developer": team.developer}.get(who, team.viewer)
    if who == "commenter":
        CommentFactory(issue=team.issue, author=team.viewer)
    elif who == "mentioned":
        IssueSubscriptionFactory(user=team.viewer, issue=team.issue, state="mentioned")
    elif who in ("project", "new_issues"):
        level = "all" if who == "project" else "new_issues"
        ProjectSubscriptionFactory(user=team.viewer, project=team.project, level=level)

    response = client_for(user).get(f"/api/v1/issues/{team.issue.key}/subscription")
    assert response.json() == {"subscribed": reason is not None, "reason": reason}
    # Unwatched: whatever the part they take.
    client_for(user).delete(f"/api/v1/issues/{team.issue.key}/subscription")
    response = client_for(user).get(f"/api/v1/issues/{team.issue.key}/subscription")
    assert response.json() == {"subscribed": False, "reason": "unwatched"}


def test_watching_a_project_at_a_level(team, client_for):
    viewer = client_for(team.viewer)
    url = f"/api/v1/projects/{team.project.key}/subscription"
    assert viewer.get(url).json() == {"subscribed": False, "level": None}

    assert viewer.put(url).json() == {"subscribed": True, "level": "all"}
    response = viewer.put(url, {"level": "new_issues"}, format="json")
    assert response.json() == {"subscribed": True, "level": "new_issues"}
    assert ProjectSubscription.objects.get(user=team.viewer).level == "new_issues"

    assert viewer.delete(url).status_code == 204
    assert viewer.get(url).json() == {"subscribed": False, "level": None}
    assert viewer.delete(url).status_code == 204  # not watching: nothing to undo


@pytest.mark.parametrize(
    "body, field", [({"level": "everything"}, "level"), ({"level": "all", "x": 1}, "x")]
)
def test_a_bad_project_watch_is_a_400(team, client_for, body, field):
    before = database_state()
    response = client_for(team.viewer).put(
        f"/api/v1/projects/{team.project.key}/subscription", body, format="json"
    )
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert database_state() == before


def test_a_project_archived_can_still_be_watched_and_unwatched(team, client_for):
    client_for(team.owner).post(f"/api/v1/projects/{team.project.key}/archive")
    viewer = client_for(team.viewer)
    assert viewer.put(f"/api/v1/issues/{team.issue.key}/subscription").status_code == 200
    assert viewer.put(f"/api/v1/projects/{team.project.key}/subscription").status_code == 200
    assert viewer.delete(f"/api/v1/issues/{team.issue.key}/subscription").status_code == 204
