"""GET /api/v1/events: the change feed of the projects the caller can see."""

import pytest

from accounts.serializers import UserSummarySerializer
from events.models import Event
from projects.models import Membership
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def record(project, type="issue.created", **fields) -> Event:
    return Event.objects.create(
        type=type, project=project, project_key=project.key if project else "", **fields
    )


def ids(response) -> list[int]:
    return [event["id"] for event in response.json()["results"]]


@pytest.fixture
def api(client_for, user):
    return client_for(user)


@pytest.fixture
def mine(user):
    project = ProjectFactory()
    MembershipFactory(project=project, user=user)
    return project


def test_events_come_oldest_first_as_recorded(api, mine, user):
    first = record(mine, actor=user, data={"id": 1}, changes=None)
    second = record(mine, "issue.updated", data={"id": 1}, changes={"title": "old"})

    response = api.get("/api/v1/events")

    assert response.status_code == 200
    body = response.json()
    assert body["results"] == [
        {
            "id": first.pk,
            "type": "issue.created",
            "project": mine.key,
            "actor": UserSummarySerializer(user).data,
            "created_at": first.created_at.isoformat().replace("+00:00", "Z"),
            "data": {"id": 1},
            "changes": None,
            "bulk_id": None,
        },
        {
            "id": second.pk,
            "type": "issue.updated",
            "project": mine.key,
            "actor": None,
            "created_at": second.created_at.isoformat().replace("+00:00", "Z"),
            "data": {"id": 1},
            "changes": {"title": "old"},
            "bulk_id": None,
        },
    ]
    assert body["has_more"] is False
    assert body["next"] == f"http://testserver/api/v1/events?after={second.pk}"


def test_a_reader_resumes_after_the_last_id_it_processed(api, mine):
    events = [record(mine) for _ in range(5)]

    first = api.get("/api/v1/events?limit=2")
    assert ids(first) == [e.pk for e in events[:2]]
    assert first.json()["has_more"] is True
    assert f"after={events[1].pk}" in first.json()["next"]
    assert first["Link"] == f'<{first.json()["next"]}>; rel="next"'

    second = api.get(first.json()["next"])
    assert ids(second) == [e.pk for e in events[2:4]]
    third = api.get(second.json()["next"])
    assert ids(third) == [events[4].pk]
    assert third.json()["has_more"] is False

    # Nothing new yet: the same place to poll again.
    empty = api.get(third.json()["next"])
    assert ids(empty) == []
    assert empty.json()["next"] == third.json()["next"]
    later = record(mine)
    assert ids(api.get(third.json()["next"])) == [later.pk]


def test_the_limit_defaults_to_50_and_stops_at_200(api, mine):
    Event.objects.bulk_create(
        [Event(type="issue.created", project=mine, project_key=mine.key) for _ in range(201)]
    )

    assert len(ids(api.get("/api/v1/events"))) == 50
    assert len(ids(api.get("/api/v1/events?limit=500"))) == 200


def test_events_of_projects_the_caller_cannot_see_never_appear(api, mine, site_admin, client_for):
    internal = ProjectFactory(visibility="internal")
    hidden = ProjectFactory(visibility="private")
    seen = [record(mine), record(internal)]
    unseen = record(hidden)
    orphan = record(None, "project.deleted")  # its project is gone

    assert ids(api.get("/api/v1/events")) == [e.pk for e in seen]
    # Site admins see everything, deleted projects' events too.
    every = [*seen, unseen, orphan]
    assert ids(client_for(site_admin).get("/api/v1/events")) == [e.pk for e in every]


def test_losing_membership_hides_the_events_seen_before(api, mine, user):
    event = record(mine)
    assert ids(api.get("/api/v1/events")) == [event.pk]

    Membership.objects.filter(project=mine, user=user).delete()

    assert ids(api.get("/api/v1/events")) == []


def test_filtering_by_project(api, mine, user):
    other = ProjectFactory(visibility="internal")
    wanted = record(mine)
    record(other)

    response = api.get(f"/api/v1/events?project={mine.key.lower()}")

    assert ids(response) == [wanted.pk]
    assert f"project={mine.key.lower()}" in response.json()["next"]


@pytest.mark.parametrize("key", ["NOPE", "HIDDEN"])
def test_an_unknown_or_hidden_project_is_a_400_naming_it(api, key):
    ProjectFactory(key="HIDDEN", visibility="private")

    response = api.get(f"/api/v1/events?project={key}")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "project" in str(response.json())
    assert key in str(response.json())


def test_filtering_by_types_and_prefixes(api, mine):
    created = record(mine, "issue.created")
    updated = record(mine, "issue.updated")
    comment = record(mine, "comment.created")
    label = record(mine, "label.deleted")

    assert ids(api.get("/api/v1/events?type=issue.updated")) == [updated.pk]
    assert ids(api.get("/api/v1/events?type=issue.*")) == [created.pk, updated.pk]
    both = api.get("/api/v1/events?type=comment.created&type=label.*")
    assert ids(both) == [comment.pk, label.pk]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("type=issue.exploded", "type"),
        ("type=issue", "type"),
        ("after=-1", "after"),
        ("after=abc", "after"),
        ("after=1.5", "after"),
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("after=1&after=2", "after"),
        ("since=1", "since"),
        ("page=2", "page"),
    ],
)
def test_bad_parameters_are_400s_naming_them(api, mine, query, parameter):
    record(mine)

    response = api.get(f"/api/v1/events?{query}")

    assert response.status_code == 400, response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert parameter in str(response.json())


@pytest.mark.parametrize("after", ["45890260991850640834560", "9" * 5000, str(2**63)])
def test_an_after_beyond_every_id_is_an_empty_page_that_stays_there(api, mine, after):
    record(mine)

    response = api.get(f"/api/v1/events?after={after}&limit={'9' * 40}")

    assert response.status_code == 200, response.json()
    assert response.json()["results"] == []
    assert response.json()["has_more"] is False
    assert f"after={2**63 - 1}" in response.json()["next"]


def test_anonymous_callers_are_refused(api_client, mine):
    record(mine)

    response = api_client.get("/api/v1/events")

    assert response.status_code == 401
    assert "results" not in response.json()


# The token's revocation check and its user (both cached with Redis), the project filter's
# project, the page with its actors (visibility is a subquery of the page's query).
FEED_QUERIES = 4


@pytest.mark.parametrize("limit", [1, 100])
def test_a_constant_number_of_queries_whatever_the_page_size(
    api, mine, limit, django_assert_max_num_queries
):
    other = ProjectFactory(visibility="internal")
    for n in range(240):
        record(mine if n % 2 else other, actor=UserFactory() if n % 10 == 1 else None)
    api.get("/api/v1/me")  # warm the caller's caches, as a running worker has them

    with django_assert_max_num_queries(FEED_QUERIES):
        response = api.get(f"/api/v1/events?limit={limit}&project={mine.key}&type=issue.*")

    assert len(ids(response)) == limit
    assert response.json()["results"][0]["actor"]["username"]
