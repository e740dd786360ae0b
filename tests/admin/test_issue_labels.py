"""The issue form's label picker offers the issue's project's labels only, so an operator
cannot pick a same-named label of another project."""

import re

import pytest

from issues.models import IssueEvent
from tests.factories import IssueFactory, LabelFactory, ProjectFactory

pytestmark = pytest.mark.django_db

ISSUES = "/admin/issues/issue/"


@pytest.fixture
def labels(project):
    """Two projects that both have a `bug` label."""
    other = ProjectFactory(key="ZED")
    return {
        "bug": LabelFactory(project=project, name="bug"),
        "docs": LabelFactory(project=project, name="docs"),
        "other bug": LabelFactory(project=other, name="bug"),
    }


@pytest.fixture
def issue(project):
    return IssueFactory(project=project, title="Pager goes off at night")


def choices(response) -> list[str]:
    field = response.context["adminform"].form.fields["labels"]
    return [str(label) for _, label in field.choices]


def change_form(issue, labels) -> dict:
    """The issue's change form as the page submits it, with `labels` picked."""
    data = {
        "title": issue.title,
        "description": issue.description,
        "type": issue.type,
        "priority": issue.priority,
        "assignee": "",
        "due_date": "",
        "labels": [label.pk for label in labels],
    }
    for prefix in ("relations_out", "relations_in", "relations_in-2", "comments", "events"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return data


def test_the_change_page_offers_the_projects_labels_only(admin_client, labels, issue):
    response = admin_client.get(f"{ISSUES}{issue.pk}/change/")

    assert response.status_code == 200
    assert choices(response) == ["bug", "docs"]
    picker = re.search(r'<select name="labels".*?</select>', response.content.decode(), re.S)
    assert re.findall(r'<option value="(\d+)">([^<]*)</option>', picker[0]) == [
        (str(labels["bug"].pk), "bug"),
        (str(labels["docs"].pk), "docs"),
    ]


def test_the_add_page_names_every_label_with_its_project_until_one_is_chosen(
    admin_client, project, labels
):
    response = admin_client.get(f"{ISSUES}add/")

    assert sorted(choices(response)) == sorted(
        [f"{project.key}: bug", f"{project.key}: docs", "ZED: bug"]
    )
    assert "Only labels of the issue's project can be chosen." in response.content.decode()


def test_the_add_page_for_a_project_offers_its_labels_only(admin_client, project, labels):
    response = admin_client.get(f"{ISSUES}add/", {"project": project.pk})

    assert choices(response) == ["bug", "docs"]


def test_picking_the_projects_label_is_saved_and_recorded(admin_client, labels, issue):
    response = admin_client.post(
        f"{ISSUES}{issue.pk}/change/", change_form(issue, [labels["bug"]])
    )

    assert response.status_code == 302
    assert list(issue.labels.all()) == [labels["bug"]]
    event = issue.events.get(kind=IssueEvent.Kind.CHANGED)
    assert (event.field, event.old_value, event.new_value) == ("labels", [], ["bug"])


def test_another_projects_label_is_refused_on_the_form(admin_client, labels, issue):
    other = labels["other bug"]

    response = admin_client.post(f"{ISSUES}{issue.pk}/change/", change_form(issue, [other]))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "labels": [f"Select a valid choice. {other.pk} is not one of the available choices."]
    }
    assert not issue.labels.exists()
    assert not issue.events.exists()


def test_an_issue_is_added_with_a_label_of_its_project(admin_client, site_admin, project, labels):
    data = change_form(IssueFactory.build(project=project, title="New one"), [labels["docs"]])

    response = admin_client.post(f"{ISSUES}add/", {**data, "project": project.pk})

    assert response.status_code == 302
    created = project.issues.get()
    assert (created.title, created.reporter) == ("New one", site_admin)
    assert list(created.labels.all()) == [labels["docs"]]


def test_adding_with_another_projects_label_changes_nothing(admin_client, project, labels):
    data = change_form(IssueFactory.build(project=project, title="New one"), [labels["other bug"]])

    response = admin_client.post(f"{ISSUES}add/", {**data, "project": project.pk})

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["labels"]
    assert not project.issues.exists()
    # The form shown again offers the chosen project's labels only.
    assert choices(response) == ["bug", "docs"]


@pytest.mark.parametrize("project_id", ["abc", "99999999999999999999", "-1"])
def test_a_malformed_project_is_an_error_on_the_form(admin_client, labels, project_id):
    data = change_form(IssueFactory.build(title="New one"), [])

    response = admin_client.post(
        f"/admin/issues/issue/add/?project={project_id}", {**data, "project": project_id}
    )

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["project"]
    assert len(choices(response)) == 3
