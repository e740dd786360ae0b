"""Filters, ordering and search on the other lists: projects, members, comments, events and
labels. Each asserts which rows come back; every bad value is a 400 naming its parameter."""

import datetime

import pytest

from comments.models import Comment
from issues.models import IssueEvent
from projects.models import Membership, Role
from tests.factories import (
    CommentFactory,
    IssueFactory,
    LabelFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
)
from tests.lists import assert_bad_param, keys, results

pytestmark = pytest.mark.django_db


def at(day: int) -> datetime.datetime:
    return datetime.datetime(2024, 3, day, tzinfo=datetime.UTC)


# -- projects -----------------------------------------------------------------------------


@pytest.fixture
def estate(user):
    """Projects standing in every relation to `user` (key: visibility, role, archived)."""
    rows = {
        "PRIV": ("private", Role.OWNER, False),
        "INT": ("internal", None, False),
        "INTM": ("internal", Role.DEVELOPER, False),
        "VIEW": ("private", Role.VIEWER, False),
        "MAINT": ("private", Role.MAINTAINER, False),
        "ARCH": ("private", Role.REPORTER, True),
        "ARCHI": ("internal", None, True),
        "HIDE": ("private", None, False),
    }
    for key, (visibility, role, archived) in rows.items():
        project = ProjectFactory(
            key=key,
            name=key,
            description="",  # so ?search= matches only what the test means
            visibility=visibility,
            archived_at=at(1) if archived else None,
        )
        if role is not None:
            MembershipFactory(project=project, user=user, role=role)
    return rows


ACTIVE = ["INT", "INTM", "MAINT", "PRIV", "VIEW"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ACTIVE),  # archived and hidden projects left out
        ({"visibility": "internal"}, ["INT", "INTM"]),
        ({"visibility": "private"}, ["MAINT", "PRIV", "VIEW"]),
        ({"role": "viewer"}, ACTIVE),  # every visible project lets the caller read
        ({"role": "reporter"}, ["INTM", "MAINT", "PRIV"]),
        ({"role": "developer"}, ["INTM", "MAINT", "PRIV"]),
        ({"role": "maintainer"}, ["MAINT", "PRIV"]),
        ({"role": "owner"}, ["PRIV"]),
        ({"archived": "false"}, ACTIVE),
        ({"archived": "true"}, ["ARCH", "ARCHI"]),
        ({"archived": "true", "role": "reporter"}, ["ARCH"]),
        ({"archived": "true", "visibility": "internal"}, ["ARCHI"]),
        ({"visibility": "internal", "role": "developer"}, ["INTM"]),
        ({"visibility": "private", "role": "maintainer", "search": "PR"}, ["PRIV"]),
    ],
)
def test_project_filters(estate, user_client, params, expected):
    response = user_client.get("/api/v1/projects", {**params, "ordering": "key"})
    assert keys(response) == expected
    assert response.json()["count"] == len(expected)


def test_a_site_admin_acts_as_owner_everywhere(estate, site_admin, client_for):
    admin = client_for(site_admin)
    every_active = ["HIDE", *ACTIVE]
    assert keys(admin.get("/api/v1/projects", {"role": "owner", "ordering": "key"})) == (
        sorted(every_active)
    )
    assert keys(admin.get("/api/v1/projects", {"archived": "true", "ordering": "key"})) == [
        "ARCH",
        "ARCHI",
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("visibility", "public"),
        ("visibility", "Private"),
        ("role", "admin"),
        ("role", "50"),
        ("archived", "yes"),
        ("archived", "1"),
    ],
)
def test_a_bad_project_filter_is_a_400(estate, user_client, name, value):
    assert_bad_param(user_client.get("/api/v1/projects", {name: value}), name)


# -- members ------------------------------------------------------------------------------


@pytest.fixture
def team(project):
    """`project` with members ann (viewer), bea (reporter), cal and dan (developers),
    eve (maintainer), besides its owner; joined in that order."""
    people = {}
    for day, (name, role) in enumerate(
        [
            ("ann", Role.VIEWER),
            ("bea", Role.REPORTER),
            ("cal", Role.DEVELOPER),
            ("dan", Role.DEVELOPER),
            ("eve", Role.MAINTAINER),
        ],
        start=2,
    ):
        user = UserFactory(username=name, display_name=name.title())
        MembershipFactory(project=project, user=user, role=role)
        Membership.objects.filter(user=user).update(created_at=at(day))
        people[name] = user
    owner = project.created_by
    Membership.objects.filter(user=owner).update(created_at=at(1))
    type(owner).objects.filter(pk=owner.pk).update(display_name="Owner")
    return people


def usernames(response) -> list[str]:
    return [row["user"]["username"] for row in results(response)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"role": "developer"}, ["cal", "dan"]),
        ({"role": ["viewer", "maintainer"]}, ["eve", "ann"]),  # default: highest role first
        ({"role": "owner"}, ["OWNER"]),
        ({"search": "a"}, ["cal", "dan", "bea", "ann"]),
        ({"role": "developer", "search": "d"}, ["dan"]),
        ({"ordering": "username", "role": ["developer", "reporter"]}, ["bea", "cal", "dan"]),
        ({"ordering": "-username", "role": ["developer", "reporter"]}, ["dan", "cal", "bea"]),
        ({"ordering": "role,username", "role": ["developer", "viewer"]}, ["ann", "cal", "dan"]),
        ({"ordering": "-created_at", "role": ["developer", "reporter"]}, ["dan", "cal", "bea"]),
        ({"ordering": "created_at", "role": ["viewer", "owner"]}, ["OWNER", "ann"]),
    ],
)
def test_member_filters_search_and_ordering(project, team, client_for, params, expected):
    expected = [project.created_by.username if n == "OWNER" else n for n in expected]
    response = client_for(team["ann"]).get(f"/api/v1/projects/{project.key}/members", params)
    assert usernames(response) == expected
    assert response.json()["count"] == len(expected)


@pytest.mark.parametrize(
    ("name", "value"),
    [("role", "admin"), ("role", ["viewer", "boss"]), ("ordering", "email"), ("search", "\x00")],
)
def test_a_bad_member_parameter_is_a_400(project, team, client_for, name, value):
    response = client_for(team["ann"]).get(
        f"/api/v1/projects/{project.key}/members", {name: value}
    )
    assert_bad_param(response, name)


# -- comments -----------------------------------------------------------------------------


@pytest.fixture
def thread(project, member_of):
    """An issue with comments by alice (days 1, 3, 5) and bob (days 2, 4)."""
    alice, bob = member_of(project, "reporter"), member_of(project, "reporter")
    issue = IssueFactory(project=project)
    comments = []
    for day in range(1, 6):
        comment = CommentFactory(issue=issue, author=alice if day % 2 else bob, body=f"day {day}")
        Comment.objects.filter(pk=comment.pk).update(created_at=at(day), updated_at=at(10 - day))
        comments.append(comment)
    CommentFactory(issue=IssueFactory(project=project), author=alice)  # another issue's
    return {"issue": issue, "alice": alice, "bob": bob}


def bodies(response) -> list[str]:
    return [row["body"] for row in results(response)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [1, 2, 3, 4, 5]),  # oldest first
        ({"author": "ALICE"}, [1, 3, 5]),
        ({"author": "BOB"}, [2, 4]),
        ({"created_after": "2024-03-03T00:00:00Z"}, [3, 4, 5]),
        ({"created_before": "2024-03-03T00:00:00Z"}, [1, 2]),
        ({"created_after": "2024-03-02", "created_before": "2024-03-05"}, [2, 3, 4]),
        ({"author": "ALICE", "created_after": "2024-03-02"}, [3, 5]),
        ({"ordering": "-created_at"}, [5, 4, 3, 2, 1]),
        ({"ordering": "updated_at"}, [5, 4, 3, 2, 1]),
        ({"ordering": "-updated_at", "author": "BOB"}, [2, 4]),
    ],
)
def test_comment_filters_and_ordering(project, thread, client_for, params, expected):
    # "ALICE" stands for alice's username in capitals: user names match in any case.
    params = {
        k: thread[v.lower()].username.upper() if k == "author" else v for k, v in params.items()
    }
    response = client_for(project.created_by).get(
        f"/api/v1/issues/{thread['issue'].key}/comments", params
    )
    assert bodies(response) == [f"day {n}" for n in expected]
    assert response.json()["count"] == len(expected)


def test_comment_author_me(project, thread, client_for):
    response = client_for(thread["bob"]).get(
        f"/api/v1/issues/{thread['issue'].key}/comments", {"author": "me"}
    )
    assert bodies(response) == ["day 2", "day 4"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("author", "ghost"),
        ("author", "none"),
        ("created_after", "last week"),
        ("created_before", "2024-03-32"),
        ("ordering", "author"),
        ("ordering", "-body"),
    ],
)
def test_a_bad_comment_parameter_is_a_400(project, thread, client_for, name, value):
    url = f"/api/v1/issues/{thread['issue'].key}/comments"
    assert_bad_param(client_for(project.created_by).get(url, {name: value}), name)


# -- events -------------------------------------------------------------------------------


@pytest.fixture
def history(project, member_of):
    """An issue's history: created by alice, changed by bob, commented by alice,
    transitioned by bob, changed by alice (days 1-5)."""
    alice, bob = member_of(project, "developer"), member_of(project, "developer")
    issue = IssueFactory(project=project)
    IssueEvent.objects.filter(issue=issue).delete()
    steps = [
        (alice, "created"),
        (bob, "changed"),
        (alice, "commented"),
        (bob, "transitioned"),
        (alice, "changed"),
    ]
    events = [
        IssueEvent.objects.create(issue=issue, actor=actor, kind=kind, created_at=at(day))
        for day, (actor, kind) in enumerate(steps, start=1)
    ]
    IssueEvent.objects.create(issue=IssueFactory(project=project), actor=alice, kind="changed")
    return {"issue": issue, "alice": alice, "bob": bob, "events": events}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [1, 2, 3, 4, 5]),
        ({"kind": "changed"}, [2, 5]),
        ({"kind": ["created", "commented"]}, [1, 3]),
        ({"actor": "alice"}, [1, 3, 5]),
        ({"actor": "bob"}, [2, 4]),
        ({"actor": "alice", "kind": "changed"}, [5]),
        ({"actor": "bob", "kind": "created"}, []),
        ({"ordering": "-created_at"}, [5, 4, 3, 2, 1]),
        ({"ordering": "-created_at", "kind": ["changed", "transitioned"]}, [5, 4, 2]),
    ],
)
def test_event_filters_and_ordering(project, history, client_for, params, expected):
    params = {k: history[v].username if k == "actor" else v for k, v in params.items()}
    response = client_for(project.created_by).get(
        f"/api/v1/issues/{history['issue'].key}/events", params
    )
    assert [row["id"] for row in results(response)] == [
        history["events"][n - 1].pk for n in expected
    ]
    assert response.json()["count"] == len(expected)


def test_event_actor_me(project, history, client_for):
    response = client_for(history["bob"]).get(
        f"/api/v1/issues/{history['issue'].key}/events", {"actor": "me"}
    )
    assert [row["kind"] for row in results(response)] == ["changed", "transitioned"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("kind", "deleted"),
        ("kind", ["changed", "x"]),
        ("actor", "ghost"),
        ("ordering", "kind"),
    ],
)
def test_a_bad_event_parameter_is_a_400(project, history, client_for, name, value):
    url = f"/api/v1/issues/{history['issue'].key}/events"
    assert_bad_param(client_for(project.created_by).get(url, {name: value}), name)


# -- labels -------------------------------------------------------------------------------


@pytest.fixture
def labels(project):
    rows = [("bug", "Something broken"), ("docs", "Documentation"), ("Feature", "New things")]
    made = {}
    for day, (name, description) in enumerate(rows, start=1):
        label = LabelFactory(project=project, name=name, description=description)
        type(label).objects.filter(pk=label.pk).update(created_at=at(4 - day))
        made[name] = label
    LabelFactory(project=ProjectFactory(), name="bugfix")  # another project's
    return made


def label_names(response) -> list[str]:
    return [row["name"] for row in results(response)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"search": "BUG"}, ["bug"]),
        ({"search": "doc"}, ["docs"]),  # name or description
        ({"search": "new"}, ["Feature"]),
        ({"search": "o", "ordering": "-name"}, ["docs", "bug"]),
        ({"ordering": "created_at"}, ["Feature", "docs", "bug"]),
        ({"ordering": "-created_at"}, ["bug", "docs", "Feature"]),
    ],
)
def test_label_search_and_ordering(project, labels, client_for, params, expected):
    response = client_for(project.created_by).get(f"/api/v1/projects/{project.key}/labels", params)
    assert label_names(response) == expected
    assert response.json()["count"] == len(expected)


@pytest.mark.parametrize(
    ("name", "value"), [("ordering", "color"), ("search", "x" * 201), ("search", "a\x00")]
)
def test_a_bad_label_parameter_is_a_400(project, labels, client_for, name, value):
    url = f"/api/v1/projects/{project.key}/labels"
    assert_bad_param(client_for(project.created_by).get(url, {name: value}), name)
