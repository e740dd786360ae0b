"""?ordering= on issue and project lists: every documented field both ways, several fields
at once, the defaults, ties broken by id, and a 400 for anything else."""

import datetime

import pytest

from issues.models import Issue
from projects.models import Project, Role
from tests.factories import IssueFactory, MembershipFactory, ProjectFactory
from tests.lists import assert_bad_param, keys

pytestmark = pytest.mark.django_db


def at(day: int) -> datetime.datetime:
    return datetime.datetime(2024, 1, day, tzinfo=datetime.UTC)


@pytest.fixture
def five(project):
    """Issues 1-5 of `project`; 1 and 3 share a priority, 2 and 4 have no due date."""
    P = Issue.Priority
    rows = [
        # title, priority, status, resolution, due, created day, updated day
        ("delta", P.HIGH, "in_review", "", datetime.date(2030, 3, 1), 1, 5),
        ("alpha", P.LOWEST, "closed", "wont_fix", None, 2, 3),
        ("charlie", P.HIGH, "open", "", datetime.date(2030, 1, 1), 3, 4),
        ("bravo", P.MEDIUM, "in_progress", "", None, 4, 1),
        ("echo", P.HIGHEST, "resolved", "fixed", datetime.date(2030, 2, 1), 5, 2),
    ]
    for title, priority, status, resolution, due, created, updated in rows:
        issue = IssueFactory(
            project=project,
            title=title,
            priority=priority,
            status=status,
            resolution=resolution,
            due_date=due,
            created_at=at(created),
        )
        Issue.objects.filter(pk=issue.pk).update(updated_at=at(updated))
    return project


def numbers(response) -> list[int]:
    return [int(key.rpartition("-")[2]) for key in keys(response)]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        (None, [1, 3, 2, 5, 4]),  # default: most recently updated first
        ("", [1, 3, 2, 5, 4]),
        ("-updated_at", [1, 3, 2, 5, 4]),
        ("updated_at", [4, 5, 2, 3, 1]),
        ("created_at", [1, 2, 3, 4, 5]),
        ("-created_at", [5, 4, 3, 2, 1]),
        ("priority", [2, 4, 1, 3, 5]),  # by rank, not by name; the tie by id
        ("-priority", [5, 3, 1, 4, 2]),  # descending: the tie by id descending too
        ("status", [3, 4, 1, 5, 2]),  # workflow order: open ... closed
        ("-status", [2, 5, 1, 4, 3]),
        ("due_date", [3, 5, 1, 2, 4]),  # undated last
        ("-due_date", [4, 2, 1, 5, 3]),  # undated first
        ("number", [1, 2, 3, 4, 5]),
        ("-number", [5, 4, 3, 2, 1]),
        ("title", [2, 4, 3, 1, 5]),
        ("-title", [5, 1, 3, 4, 2]),
        ("-priority,-title", [5, 1, 3, 4, 2]),
        ("-priority,title", [5, 3, 1, 4, 2]),
        ("priority,-created_at", [2, 4, 3, 1, 5]),
        ("due_date,-priority", [3, 5, 1, 4, 2]),
        (" status , -number ", [3, 4, 1, 5, 2]),
    ],
)
def test_issue_orderings(five, client_for, ordering, expected):
    client = client_for(five.created_by)
    params = {} if ordering is None else {"ordering": ordering}
    assert numbers(client.get("/api/v1/issues", params)) == expected
    assert numbers(client.get(f"/api/v1/projects/{five.key}/issues", params)) == expected


def test_ordering_applies_before_paging(five, client_for):
    client = client_for(five.created_by)
    pages = [
        numbers(client.get("/api/v1/issues", {"ordering": "title", "page_size": 2, "page": n}))
        for n in (1, 2, 3)
    ]
    assert pages == [[2, 4], [3, 1], [5]]


def test_ordering_combines_with_filters(five, client_for):
    response = client_for(five.created_by).get(
        "/api/v1/issues", {"ordering": "-due_date", "is_open": "true"}
    )
    assert numbers(response) == [4, 1, 3]
    assert response.json()["count"] == 3


@pytest.mark.parametrize(
    "ordering",
    [
        "bogus",
        "-bogus",
        "priority,bogus",
        "rank",  # only with ?search=
        "-rank",
        "id",
        "key",
        "assignee",
        "reporter__password",
        "search_vector",
        "status_rank",  # an internal annotation, not an API name
        "due_sort",
        "priority,",
    ],
)
def test_an_unknown_issue_ordering_is_a_400(five, client_for, ordering):
    client = client_for(five.created_by)
    for url in ("/api/v1/issues", f"/api/v1/projects/{five.key}/issues"):
        response = client.get(url, {"ordering": ordering})
        assert_bad_param(response, "ordering")
        message = response.json()["errors"][0]["message"]
        assert "choose from created_at, updated_at, priority, status" in message


@pytest.fixture
def projects(user):
    """Four projects `user` belongs to (key: name), plus one archived."""
    made = {}
    for day, (key, name) in enumerate(
        [("BETA", "Zeta"), ("ALPHA", "Mu"), ("DELTA", "Kappa"), ("GAMMA", "Omega")], start=1
    ):
        project = ProjectFactory(key=key, name=name)
        MembershipFactory(project=project, user=user, role=Role.DEVELOPER)
        Project.objects.filter(pk=project.pk).update(created_at=at(day), updated_at=at(10 - day))
        made[key] = project
    archived = ProjectFactory(key="AAA", name="Aardvark", archived_at=at(9))
    MembershipFactory(project=archived, user=user, role=Role.DEVELOPER)
    return made


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        (None, ["DELTA", "ALPHA", "GAMMA", "BETA"]),  # default: by name
        ("name", ["DELTA", "ALPHA", "GAMMA", "BETA"]),
        ("-name", ["BETA", "GAMMA", "ALPHA", "DELTA"]),
        ("key", ["ALPHA", "BETA", "DELTA", "GAMMA"]),
        ("-key", ["GAMMA", "DELTA", "BETA", "ALPHA"]),
        ("created_at", ["BETA", "ALPHA", "DELTA", "GAMMA"]),
        ("-created_at", ["GAMMA", "DELTA", "ALPHA", "BETA"]),
        ("updated_at", ["GAMMA", "DELTA", "ALPHA", "BETA"]),
        ("-updated_at", ["BETA", "ALPHA", "DELTA", "GAMMA"]),
    ],
)
def test_project_orderings(projects, user_client, ordering, expected):
    params = {} if ordering is None else {"ordering": ordering}
    assert keys(user_client.get("/api/v1/projects", params)) == expected


def test_project_name_ties_are_broken_by_id(user, user_client):
    made = [ProjectFactory(key=f"SAME{n}", name="Same") for n in range(3)]
    for project in made:
        MembershipFactory(project=project, user=user)
    assert keys(user_client.get("/api/v1/projects")) == [p.key for p in made]
    assert keys(user_client.get("/api/v1/projects", {"ordering": "-name"})) == [
        p.key for p in reversed(made)
    ]


@pytest.mark.parametrize(
    "ordering", ["bogus", "visibility", "description", "id", "created_by", "rank", "name,-x"]
)
def test_an_unknown_project_ordering_is_a_400(projects, user_client, ordering):
    response = user_client.get("/api/v1/projects", {"ordering": ordering})
    assert_bad_param(response, "ordering")
    assert "choose from name, key, created_at, updated_at" in response.json()["detail"] + str(
        response.json()["errors"]
    )
