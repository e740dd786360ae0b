"""Many clients at once on PostgreSQL, through the API with real tokens: exact outcomes."""

from collections import Counter

import pytest
from rest_framework.test import APIClient

from accounts.models import TokenFamily
from accounts.services import token_pair_for_user
from accounts.tokens import RefreshToken
from issues.models import Issue, IssueEvent
from projects.models import Project
from tests.factories import CommentFactory, IssueFactory, LabelFactory
from tests.threads import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _codes(responses) -> Counter:
    return Counter(r.status_code for r in responses)


def test_50_identical_transitions_have_one_winner_and_one_event(project, member_of, client_for):
    issue = IssueFactory(
        project=project, status="in_review", assignee=member_of(project, "developer")
    )
    clients = [client_for(member_of(project, "developer")) for _ in range(50)]
    url = f"/api/v1/issues/{issue.key}/status"

    responses = race([lambda c=c: c.post(url, {"status": "resolved"}) for c in clients])

    assert _codes(responses) == {200: 1, 409: 49}, [r.content for r in responses[:3]]
    for loser in (r for r in responses if r.status_code == 409):
        assert loser.json()["code"] in ("transition_not_allowed", "concurrent_change")
    issue.refresh_from_db()
    assert (issue.status, issue.resolution) == ("resolved", "fixed")
    events = IssueEvent.objects.filter(issue=issue, kind=IssueEvent.Kind.TRANSITIONED)
    assert [(e.from_status, e.to_status) for e in events] == [("in_review", "resolved")]


def test_20_refreshes_of_one_token_give_one_pair_and_revoke_the_family(user):
    pair = token_pair_for_user(user=user)

    def refresh():
        return APIClient().post(
            "/api/v1/auth/refresh", {"refresh_token": str(pair.refresh)}, format="json"
        )

    responses = race([refresh] * 20)

    assert _codes(responses) == {200: 1, 401: 19}
    [winner] = [r.json() for r in responses if r.status_code == 200]
    assert {"access_token", "refresh_token"} <= set(winner)
    family = TokenFamily.objects.get(user=user)
    # The other 19 presented a token just rotated out: reuse, so the family is revoked,
    # and with it the pair the winner got.
    assert family.revoked_at is not None
    assert family.revoked_reason == "reuse"
    assert family.current_jti == RefreshToken(winner["refresh_token"])["jti"]
    again = APIClient().post(
        "/api/v1/auth/refresh", {"refresh_token": winner["refresh_token"]}, format="json"
    )
    assert again.status_code == 401


def test_50_creations_in_one_project_are_numbered_1_to_50(project, member_of, client_for):
    clients = [client_for(member_of(project, "reporter")) for _ in range(10)] * 5
    url = f"/api/v1/projects/{project.key}/issues"

    responses = race(
        [lambda c=c, n=n: c.post(url, {"title": f"Issue {n}"}) for n, c in enumerate(clients)]
    )

    assert _codes(responses) == {201: 50}
    numbers = sorted(r.json()["number"] for r in responses)
    assert numbers == list(range(1, 51))
    stored = Issue.objects.filter(project=project)
    assert sorted(stored.values_list("number", flat=True)) == numbers
    assert sorted(stored.values_list("title", flat=True)) == sorted(
        f"Issue {n}" for n in range(50)
    )
    assert Project.objects.get(pk=project.pk).last_issue_number == 50


def test_parallel_patches_with_one_etag_have_one_winner_and_lose_no_update(
    project, member_of, client_for
):
    issue = IssueFactory(project=project, title="Before")
    clients = [client_for(member_of(project, "developer")) for _ in range(20)]
    url = f"/api/v1/issues/{issue.key}"
    etag = clients[0].get(url)["ETag"]

    def patch(client, n):
        return lambda: client.patch(url, {"title": f"Edit {n}"}, format="json", HTTP_IF_MATCH=etag)

    responses = race([patch(c, n) for n, c in enumerate(clients)])

    assert _codes(responses) == {200: 1, 412: 19}
    [winner] = [r for r in responses if r.status_code == 200]
    assert {r.json()["code"] for r in responses if r.status_code == 412} == {"precondition_failed"}
    issue.refresh_from_db()
    assert issue.title == winner.json()["title"]
    assert winner["ETag"] != etag
    # One recorded change, from the value every client read, to the value that was kept.
    changes = IssueEvent.objects.filter(issue=issue, kind=IssueEvent.Kind.CHANGED)
    assert [(e.field, e.old_value, e.new_value) for e in changes] == [
        ("title", "Before", issue.title)
    ]


@pytest.mark.parametrize("kind", ["me", "project", "label", "member", "comment"])
def test_parallel_changes_with_one_etag_have_one_winner_for_every_resource(
    project, member_of, client_for, kind
):
    """The comparison with If-Match and the write hold the row lock together, so of many
    clients sending the same ETag exactly one changes the resource."""
    owner = project.created_by
    label = LabelFactory(project=project)
    member = member_of(project, "viewer")
    comment = CommentFactory(issue=IssueFactory(project=project, reporter=owner), author=owner)
    url, field = {
        "me": ("/api/v1/me", "display_name"),
        "project": (f"/api/v1/projects/{project.key}", "name"),
        "label": (f"/api/v1/projects/{project.key}/labels/{label.pk}", "name"),
        "member": (f"/api/v1/projects/{project.key}/members/{member.username}", "role"),
        "comment": (f"/api/v1/comments/{comment.pk}", "body"),
    }[kind]
    values = ["reporter", "developer", "maintainer"] if kind == "member" else None
    clients = [client_for(owner) for _ in range(10)]
    etag = clients[0].get(url)["ETag"]

    def patch(client, n):
        value = values[n % 3] if values else f"Edit {n}"
        return lambda: client.patch(url, {field: value}, format="json", HTTP_IF_MATCH=etag)

    responses = race([patch(c, n) for n, c in enumerate(clients)])

    assert _codes(responses) == {200: 1, 412: 9}, [r.content for r in responses[:3]]
    [winner] = [r for r in responses if r.status_code == 200]
    assert clients[0].get(url).json()[field] == winner.json()[field]
    assert clients[0].get(url)["ETag"] == winner["ETag"] != etag
