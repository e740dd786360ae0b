"""A project's labels: /projects/{key}/labels, and labels on issues."""

import pytest
from django.utils import timezone

from issues.models import Label
from projects.models import Project
from tests.factories import IssueFactory, LabelFactory, ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def maintainer_client(project, member_of, client_for):
    return client_for(member_of(project, "maintainer"))


def url(project, label=None):
    base = f"/api/v1/projects/{project.key}/labels"
    return base if label is None else f"{base}/{label.pk}"


def labels_of(project) -> list[tuple]:
    return sorted(
        Label.objects.filter(project=project).values_list("name", "color", "description")
    )


def test_list_and_detail(project, member_of, client_for):
    b = LabelFactory(project=project, name="beta", description="Second")
    a = LabelFactory(project=project, name="Alpha")
    LabelFactory(project=ProjectFactory(), name="elsewhere")
    client = client_for(member_of(project, "viewer"))

    response = client.get(url(project))

    assert response.status_code == 200
    results = response.json()["results"]
    assert [label["name"] for label in results] == ["Alpha", "beta"]
    assert set(results[0]) == {"id", "url", "name", "color", "description", "created_at"}
    assert results[1]["url"] == f"http://testserver{url(project, b)}"
    detail = client.get(url(project, b)).json()
    assert (detail["id"], detail["name"], detail["color"], detail["description"]) == (
        b.pk,
        "beta",
        b.color,
        "Second",
    )
    assert a.pk in {label["id"] for label in results}


def test_create(project, maintainer_client):
    response = maintainer_client.post(
        url(project), {"name": "needs-triage", "color": "#FF0000"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    label = Label.objects.get(pk=body["id"])
    assert (label.project, label.name, label.color) == (project, "needs-triage", "#FF0000")
    assert (body["name"], body["color"], body["description"]) == ("needs-triage", "#FF0000", "")


def test_create_with_the_default_colour(project, maintainer_client):
    response = maintainer_client.post(url(project), {"name": "plain"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["color"] == "#6B7280" == Label.objects.get().color


@pytest.mark.parametrize(
    "data,field",
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 51}, "name"),
        ({}, "name"),
        ({"name": "ok", "color": "red"}, "color"),
        ({"name": "ok", "color": "#12345"}, "color"),
        ({"name": "ok", "color": "#GGGGGG"}, "color"),
        ({"name": "ok", "description": "d" * 201}, "description"),
    ],
)
def test_create_validation(project, maintainer_client, data, field):
    response = maintainer_client.post(url(project), data, format="json")
    assert response.status_code == 400, response.content
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert not Label.objects.exists()


def test_names_are_unique_per_project_ignoring_case(project, maintainer_client):
    LabelFactory(project=project, name="Bug")
    response = maintainer_client.post(url(project), {"name": "bug"}, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["name"]
    assert labels_of(project) == [("Bug", "#1F883D", "")]
    # Another project may use the same name.
    other = LabelFactory(project=ProjectFactory(), name="bug")
    assert Label.objects.filter(name__iexact="bug").count() == 2
    assert other.project != project


def test_update(project, maintainer_client):
    label = LabelFactory(project=project, name="bug")
    response = maintainer_client.patch(
        url(project, label), {"name": "Bug", "color": "#000000", "description": "Broken"}, "json"
    )
    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["color"]) == ("Bug", "#000000")
    assert labels_of(project) == [("Bug", "#000000", "Broken")]


def test_rename_onto_another_label_is_refused(project, maintainer_client):
    LabelFactory(project=project, name="bug")
    label = LabelFactory(project=project, name="feature")
    response = maintainer_client.patch(url(project, label), {"name": "BUG"}, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["name"]
    assert labels_of(project) == [("bug", "#1F883D", ""), ("feature", "#1F883D", "")]


def test_update_validation(project, maintainer_client):
    label = LabelFactory(project=project, name="bug")
    response = maintainer_client.patch(url(project, label), {"color": "blue"}, format="json")
    assert response.status_code == 400
    label.refresh_from_db()
    assert label.color == "#1F883D"


def test_delete_takes_the_label_off_its_issues(project, maintainer_client):
    label = LabelFactory(project=project, name="bug")
    keep = LabelFactory(project=project, name="keep")
    issue = IssueFactory(project=project)
    issue.labels.set([label, keep])
    response = maintainer_client.delete(url(project, label))
    assert response.status_code == 204
    assert not Label.objects.filter(pk=label.pk).exists()
    assert list(issue.labels.all()) == [keep]
    assert maintainer_client.get(url(project, label)).status_code == 404


def test_a_label_is_only_found_under_its_own_project(project, maintainer_client):
    foreign = LabelFactory(project=ProjectFactory(visibility="internal"), name="foreign")
    responses = [
        maintainer_client.get(url(project, foreign)),
        maintainer_client.patch(url(project, foreign), {"name": "mine"}, format="json"),
        maintainer_client.delete(url(project, foreign)),
    ]
    assert [r.status_code for r in responses] == [404, 404, 404]
    foreign.refresh_from_db()
    assert foreign.name == "foreign"


def test_put_is_not_offered(project, maintainer_client):
    label = LabelFactory(project=project, name="bug")
    response = maintainer_client.put(url(project, label), {"name": "x"}, format="json")
    assert response.status_code == 405
    label.refresh_from_db()
    assert label.name == "bug"


def test_archived_projects_labels_are_read_only(project, maintainer_client):
    label = LabelFactory(project=project, name="bug")
    Project.objects.filter(pk=project.pk).update(archived_at=timezone.now())
    before = labels_of(project)
    responses = [
        maintainer_client.post(url(project), {"name": "new"}, format="json"),
        maintainer_client.patch(url(project, label), {"name": "renamed"}, format="json"),
        maintainer_client.delete(url(project, label)),
    ]
    for response in responses:
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "project_archived"
    assert labels_of(project) == before
    assert maintainer_client.get(url(project)).status_code == 200


def test_issue_labels_follow_renames(project, maintainer_client):
    label = LabelFactory(project=project, name="bug")
    issue = IssueFactory(project=project)
    issue.labels.set([label])
    maintainer_client.patch(url(project, label), {"name": "defect"}, format="json")
    body = maintainer_client.get(f"/api/v1/issues/{issue.key}").json()
    assert body["labels"] == [{"id": label.pk, "name": "defect", "color": label.color}]


# Authentication (blocklist without Redis, user), the project, the caller's role
# in it, the count and the page.
LABEL_LIST_QUERIES = 5


@pytest.mark.parametrize("page_size", [1, 100])
def test_list_query_count_is_constant(
    project, client_for, django_assert_max_num_queries, page_size
):
    for _ in range(15):
        IssueFactory(project=project).labels.add(LabelFactory(project=project))
    client = client_for(project.created_by)
    with django_assert_max_num_queries(LABEL_LIST_QUERIES):
        response = client.get(url(project), {"page_size": page_size})
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(page_size, 15)
