"""GET /me/notifications and what marks it: threads, filters, cursors, ETag/304 at no rate
cost, read/unread, done, mark-read; only issues the person can see."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from notifications.models import Thread
from projects.models import Membership, Role
from projects.services import membership_remove, project_update
from tests.budgets import auth_queries
from tests.factories import IssueFactory, MembershipFactory, ProjectFactory, ThreadFactory
from tests.state import database_state

pytestmark = pytest.mark.django_db

URL = "/api/v1/me/notifications"


def comment(client, issue, body="A comment."):
    response = client.post(f"/api/v1/issues/{issue.key}/comments", {"body": body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def limited(rate: str):
    return override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                "user": rate,
            },
        }
    )


def test_one_thread_per_issue_carries_the_latest_activity(team, client_for, notify):
    reviewer, owner = client_for(team.reviewer), client_for(team.owner)
    comment(reviewer, team.issue, "First.")
    notify()
    first = client_for(team.reporter).get(URL).json()["results"]
    Thread.objects.update(read_at=timezone.now())
    last = comment(owner, team.issue, "Second.")
    notify()

    response = client_for(team.reporter).get(URL)
    assert response.status_code == 200
    (thread,) = response.json()["results"]
    assert thread["id"] == first[0]["id"]  # the same thread, brought back
    assert thread == {
        "id": thread["id"],
        "url": f"http://testserver{URL}/{thread['id']}",
        "issue": {
            "key": team.issue.key,
            "url": f"http://testserver/api/v1/issues/{team.issue.key}",
            "title": "Login fails",
            "status": "open",
            "project": team.project.key,
        },
        "reason": "commented",
        "actor": {
            "id": team.owner.pk,
            "username": team.owner.username,
            "display_name": team.owner.display_name,
            "type": "user",
        },
        "event": thread["event"],
        "unread": True,
        "updated_at": thread["updated_at"],
        "read_at": None,
    }
    events = client_for(team.reporter).get(f"/api/v1/events?after={thread['event'] - 1}").json()
    assert events["results"][0]["data"]["id"] == last["id"]
    assert response["X-Poll-Interval"] == str(settings.NOTIFY_POLL_INTERVAL)
    assert thread["updated_at"] > first[0]["updated_at"]


def test_newest_activity_first_with_cursors(team, client_for):
    issues = [IssueFactory(project=team.project) for _ in range(5)]
    now = timezone.now()
    for n, issue in enumerate(issues):
        ThreadFactory(user=team.viewer, issue=issue, updated_at=now - timedelta(minutes=n))
    client = client_for(team.viewer)

    page = client.get(URL, {"page_size": 2}).json()
    keys = [t["issue"]["key"] for t in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        keys += [t["issue"]["key"] for t in page["results"]]
    assert keys == [issue.key for issue in issues]
    back = client.get(page["previous"]).json()
    assert [t["issue"]["key"] for t in back["results"]] == keys[2:4]
    bad = client.get(URL, {"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "cursor"


def test_filters_unread_reason_and_project(team, client_for):
    other = ProjectFactory(visibility="private")
    MembershipFactory(project=other, user=team.viewer, role=Role.VIEWER)
    elsewhere = IssueFactory(project=other)
    read = IssueFactory(project=team.project)
    ThreadFactory(user=team.viewer, issue=team.issue, reason="mentioned")
    ThreadFactory(user=team.viewer, issue=read, reason="commented", read_at=timezone.now())
    ThreadFactory(user=team.viewer, issue=elsewhere, reason="assigned")
    client = client_for(team.viewer)

    def keys(**params):
        response = client.get(URL, params)
        assert response.status_code == 200, response.json()
        return sorted(t["issue"]["key"] for t in response.json()["results"])

    assert keys(unread="true") == sorted([team.issue.key, elsewhere.key])
    assert keys(unread="false") == [read.key]
    assert keys(reason="mentioned") == [team.issue.key]
    assert keys(reason=["mentioned", "assigned"]) == sorted([team.issue.key, elsewhere.key])
    assert keys(project=other.key.lower()) == [elsewhere.key]
    assert keys(project=team.project.key, unread="true") == [team.issue.key]
    assert keys(unread="", project="") == sorted([team.issue.key, read.key, elsewhere.key])


@pytest.mark.parametrize(
    "params, field",
    [
        ({"reason": "shouted"}, "reason"),
        ({"unread": "yes"}, "unread"),
        ({"project": "NOPE"}, "project"),
        ({"project": "bad key!"}, "project"),
        ({"status": "open"}, "status"),
        ({"page": "2"}, "page"),
        ({"page_size": "0"}, "page_size"),
    ],
)
def test_bad_filters_are_a_400_naming_the_parameter(team, client_for, params, field):
    response = client_for(team.viewer).get(URL, params)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_a_hidden_project_filter_is_as_unknown_as_a_missing_one(team, client_for):
    hidden = ProjectFactory(visibility="private")
    response = client_for(team.viewer).get(URL, {"project": hidden.key})
    missing = client_for(team.viewer).get(URL, {"project": "ZZZZZZ"})
    assert response.status_code == missing.status_code == 400
    assert response.json()["errors"][0]["message"].replace(hidden.key, "X") == missing.json()[
        "errors"
    ][0]["message"].replace("ZZZZZZ", "X")


def test_the_inbox_never_shows_an_issue_the_person_cannot_see(team, client_for, notify):
    comment(client_for(team.reviewer), team.issue)
    notify()
    client = client_for(team.reporter)
    assert len(client.get(URL).json()["results"]) == 1
    thread_id = client.get(URL).json()["results"][0]["id"]

    membership_remove(membership=Membership.objects.get(project=team.project, user=team.reporter))
    assert client.get(URL).json()["results"] == []
    assert client.get(f"{URL}/{thread_id}").status_code == 404
    assert client.patch(f"{URL}/{thread_id}", {"read": True}, format="json").status_code == 404
    assert client.post(f"{URL}/mark-read").json() == {"changed": 0}
    assert Thread.objects.get(pk=thread_id).read_at is None

    # Back in the project: the thread is back too.
    MembershipFactory(project=team.project, user=team.reporter, role=Role.REPORTER)
    assert [t["id"] for t in client.get(URL).json()["results"]] == [thread_id]


def test_an_internal_project_made_private_hides_its_threads_from_outsiders(
    team, client_for, notify
):
    project_update(project=team.project, actor=team.owner, visibility="internal")
    client_for(team.outsider).put(f"/api/v1/issues/{team.issue.key}/subscription")
    comment(client_for(team.reviewer), team.issue)
    notify()
    client = client_for(team.outsider)
    first = client.get(URL)
    assert len(first.json()["results"]) == 1

    project_update(project=team.project, actor=team.owner, visibility="private")
    notify()
    again = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200 and again.json()["results"] == []


def test_a_token_limited_to_projects_sees_only_their_threads(team, client_for, pat_client):
    other = ProjectFactory(visibility="private")
    MembershipFactory(project=other, user=team.viewer, role=Role.VIEWER)
    ThreadFactory(user=team.viewer, issue=team.issue)
    ThreadFactory(user=team.viewer, issue=IssueFactory(project=other))
    client = pat_client(team.viewer, ["notifications"], projects=[team.project])

    keys = [t["issue"]["key"] for t in client.get(URL).json()["results"]]
    assert keys == [team.issue.key]
    unlimited = pat_client(team.viewer, ["notifications"])
    assert len(unlimited.get(URL).json()["results"]) == 2
    # Their ETags differ: one must never answer 304 for the other's view.
    assert client.get(URL)["ETag"] != unlimited.get(URL)["ETag"]


def test_an_unchanged_inbox_is_a_304_and_new_activity_a_200(team, client_for, notify):
    comment(client_for(team.reviewer), team.issue)
    notify()
    client = client_for(team.reporter)
    first = client.get(URL)
    tag = first["ETag"]

    again = client.get(URL, HTTP_IF_NONE_MATCH=tag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == tag
    assert again["X-Poll-Interval"] == str(settings.NOTIFY_POLL_INTERVAL)
    assert client.get(URL, {"unread": "true"}, HTTP_IF_NONE_MATCH=tag).status_code == 200

    comment(client_for(team.owner), team.issue, "New activity.")
    notify()
    changed = client.get(URL, HTTP_IF_NONE_MATCH=tag)
    assert changed.status_code == 200 and changed["ETag"] != tag
    # Marking changes it too.
    tag = changed["ETag"]
    client.post(f"{URL}/mark-read")
    assert client.get(URL, HTTP_IF_NONE_MATCH=tag).status_code == 200


@pytest.mark.parametrize(
    "query, field",
    [
        ({"reason": ["mentioned"] * 11}, "reason"),
        ({"unread": "maybe"}, "unread"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"page_size": "0"}, "page_size"),
    ],
)
def test_a_query_the_list_refuses_is_a_400_even_with_if_none_match(
    team, client_for, notify, query, field
):
    """An ETag that matches (or `*`) answers 304 only for a query the list would answer."""
    comment(client_for(team.reviewer), team.issue)
    notify()
    client = client_for(team.reporter)

    for tag in ("*", client.get(URL)["ETag"]):
        response = client.get(URL, query, HTTP_IF_NONE_MATCH=tag)
        assert response.status_code == 400, (tag, query)
        assert response.json()["errors"][0]["field"] == field


@pytest.mark.parametrize(
    "change",
    [
        lambda team, client: client.patch(
            f"/api/v1/issues/{team.issue.key}", {"title": "Renamed"}, format="json"
        ),
        lambda team, client: client.post(
            f"/api/v1/issues/{team.issue.key}/status", {"status": "in_progress"}, format="json"
        ),
        lambda team, client: client.delete(f"/api/v1/issues/{team.issue.key}"),
    ],
    ids=["title", "status", "deleted"],
)
def test_what_a_thread_shows_changing_changes_the_etag(team, client_for, notify, change):
    comment(client_for(team.reviewer), team.issue)
    notify()
    client = client_for(team.reporter)
    # Unwatched: the changes below notify them of nothing, yet their thread shows them.
    client.delete(f"/api/v1/issues/{team.issue.key}/subscription")
    tag = client.get(URL)["ETag"]
    assert change(team, client_for(team.owner)).status_code in (200, 204)
    notify()
    response = client.get(URL, HTTP_IF_NONE_MATCH=tag)
    assert response.status_code == 200


@limited("3/min")
def test_polling_an_unchanged_inbox_costs_no_rate_limit(team, client_for, notify):
    comment(client_for(team.reviewer), team.issue)
    notify()
    client = client_for(team.reporter)
    first = client.get(URL)
    assert first["RateLimit-Remaining"] == "2"
    polls = [client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"]) for _ in range(20)]
    assert {p.status_code for p in polls} == {304}
    assert all("RateLimit-Remaining" not in p for p in polls)

    second = client.get(URL)
    assert second.status_code == 200 and second["RateLimit-Remaining"] == "1"
    client.get("/api/v1/me")
    assert client.get(URL).status_code == 429
    # Still free while unchanged, even past the limit.
    assert client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    stale = client.get(URL, HTTP_IF_NONE_MATCH='"stale"')
    assert stale.status_code == 429


def test_marking_read_and_unread(team, client_for):
    thread = ThreadFactory(user=team.viewer, issue=team.issue)
    client = client_for(team.viewer)

    read = client.patch(f"{URL}/{thread.pk}", {"read": True}, format="json")
    assert read.status_code == 200
    assert read.json()["unread"] is False and read.json()["read_at"]
    first_read = read.json()["read_at"]
    again = client.patch(f"{URL}/{thread.pk}", {"read": True}, format="json")
    assert again.json()["read_at"] == first_read  # the first time counts
    unread = client.patch(f"{URL}/{thread.pk}", {"read": False}, format="json")
    assert unread.json()["unread"] is True and unread.json()["read_at"] is None
    thread.refresh_from_db()
    assert thread.read_at is None
    assert client.get(f"{URL}/{thread.pk}").json()["id"] == thread.pk


@pytest.mark.parametrize("body", [{}, {"read": "yes"}, {"read": 1}, {"read": None}])
def test_a_mark_needs_true_or_false(team, client_for, body):
    thread = ThreadFactory(user=team.viewer, issue=team.issue)
    before = database_state()
    response = client_for(team.viewer).patch(f"{URL}/{thread.pk}", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "read"
    assert database_state() == before


def test_done_hides_a_thread_until_new_activity_brings_it_back(team, client_for, notify):
    comment(client_for(team.reviewer), team.issue)
    notify()
    client = client_for(team.reporter)
    (thread,) = client.get(URL).json()["results"]

    assert client.delete(f"{URL}/{thread['id']}").status_code == 204
    assert client.get(URL).json()["results"] == []
    done = Thread.objects.get(pk=thread["id"])
    assert done.done_at is not None and done.read_at is not None
    assert client.delete(f"{URL}/{thread['id']}").status_code == 204  # again: no change

    comment(client_for(team.owner), team.issue, "News.")
    notify()
    (back,) = client.get(URL).json()["results"]
    assert (back["id"], back["unread"]) == (thread["id"], True)


def test_mark_read_before_a_time_or_an_event_is_synchronous_and_idempotent(team, client_for):
    now = timezone.now()
    issues = [IssueFactory(project=team.project) for _ in range(3)]
    threads = [
        ThreadFactory(user=team.viewer, issue=issue, updated_at=now - timedelta(hours=n))
        for n, issue in enumerate(issues)
    ]
    client = client_for(team.viewer)
    cutoff = (now - timedelta(minutes=30)).isoformat()

    response = client.post(f"{URL}/mark-read", {"before": cutoff}, format="json")
    assert response.status_code == 200 and response.json() == {"changed": 2}
    unread = [t["issue"]["key"] for t in client.get(URL, {"unread": "true"}).json()["results"]]
    assert unread == [issues[0].key]
    assert client.post(f"{URL}/mark-read", {"before": cutoff}, format="json").json() == {
        "changed": 0
    }
    assert client.post(f"{URL}/mark-read").json() == {"changed": 1}
    assert all(Thread.objects.get(pk=t.pk).read_at for t in threads)


def test_mark_read_before_an_event_id(team, client_for, notify):
    comment(client_for(team.reviewer), team.issue)
    other = IssueFactory(project=team.project, reporter=team.reporter)
    notify()
    first_event = Thread.objects.get(user=team.reporter, issue=team.issue).event_id
    comment(client_for(team.reviewer), other)
    notify()
    client = client_for(team.reporter)

    response = client.post(f"{URL}/mark-read", {"before": first_event}, format="json")
    assert response.json() == {"changed": 1}
    assert client.post(f"{URL}/mark-read", {"before": str(first_event)}, format="json").json() == {
        "changed": 0
    }
    unread = client.get(URL, {"unread": "true"}).json()["results"]
    assert [t["issue"]["key"] for t in unread] == [other.key]
    # An id past every event's names them all.
    assert client.post(f"{URL}/mark-read", {"before": 10**30}, format="json").json() == {
        "changed": 1
    }


@pytest.mark.parametrize(
    "before",
    [
        (timezone.now() + timedelta(hours=1)).isoformat(),
        "yesterday",
        "",
        0,
        -3,
        True,
        [1],
        "2026-13-45T00:00:00Z",
        "9999-12-31T23:59:59-05:00",
    ],
)
def test_a_bad_or_future_before_is_a_400_and_changes_nothing(team, client_for, before):
    ThreadFactory(user=team.viewer, issue=team.issue)
    before_state = database_state()
    response = client_for(team.viewer).post(f"{URL}/mark-read", {"before": before}, format="json")
    assert response.status_code == 400, response.json()
    assert [e["field"] for e in response.json()["errors"]] == ["before"]
    assert database_state() == before_state


@pytest.mark.parametrize("page_size", [1, 100])
def test_the_list_runs_a_constant_number_of_queries(
    team, client_for, django_assert_max_num_queries, page_size
):
    for _ in range(120):
        issue = IssueFactory(project=team.project)
        ThreadFactory(user=team.viewer, issue=issue, actor=team.owner)
    client = client_for(team.viewer)
    client.get(URL)  # warm the caches authentication uses

    # The inbox version (the ETag) and the page; with a filter, its project.
    with django_assert_max_num_queries(2 + auth_queries()):
        response = client.get(URL, {"page_size": page_size})
    assert len(response.json()["results"]) == page_size
    # A poll of the unchanged inbox: the version alone.
    with django_assert_max_num_queries(1 + auth_queries()):
        poll = client.get(URL, {"page_size": page_size}, HTTP_IF_NONE_MATCH=response["ETag"])
    assert poll.status_code == 304
    with django_assert_max_num_queries(3 + auth_queries()):
        response = client.get(URL, {"page_size": page_size, "project": team.project.key})
    assert len(response.json()["results"]) == page_size
