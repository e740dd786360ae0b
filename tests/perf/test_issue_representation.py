"""IssueSerializer writes its representation by hand for speed; it must stay exactly what
its declared fields would give."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers

from accounts.callers import Caller
from issues.models import IssueRelation
from issues.relations.selectors import relation_summaries
from issues.selectors import issue_get_visible, issues_visible
from issues.serializers import IssueSerializer
from tests.factories import IssueFactory, LabelFactory, UserFactory

pytestmark = pytest.mark.django_db


def declared(issue, request=None) -> dict:
    """The representation DRF builds field by field from the declared fields (those of its
    relations from their summary, as the request's caller may see them)."""
    reader = Caller.of(request) if request is not None else None
    for name, value in relation_summaries([issue.pk], reader)[issue.pk].items():
        setattr(issue, name, value)
    serializer = IssueSerializer(context={"request": request})
    return serializers.ModelSerializer.to_representation(serializer, issue)


@pytest.fixture
def issues(project):
    labels = [LabelFactory(project=project, name=name) for name in ("ux", "api", "bug")]
    plain = IssueFactory(project=project, assignee=None, description="")
    full = IssueFactory(
        project=project,
        assignee=UserFactory(display_name="Ada Lovelace"),
        priority=5,
        type="bug",
        due_date=date(2030, 1, 31),
        status="closed",
        resolution="wont_fix",
        resolved_at=timezone.now() - timedelta(days=1, microseconds=7),
        closed_at=timezone.now().replace(microsecond=0),
    )
    full.labels.set(labels)
    orphan = IssueFactory(project=project)
    orphan.reporter.delete()  # the reporter becomes null
    IssueRelation.objects.create(source=plain, target=full, type="parent")
    IssueRelation.objects.create(source=orphan, target=plain, type="blocks")
    return [plain, full, orphan]


def test_the_lean_representation_equals_the_declared_one(issues, project):
    user = project.created_by
    loaded = list(issues_visible(user).order_by("id"))  # labels prefetched into a list
    assert [IssueSerializer(issue).data for issue in loaded] == [
        declared(issue) for issue in loaded
    ]
    fresh = [type(issue).objects.get(pk=issue.pk) for issue in issues]  # labels not prefetched
    assert [IssueSerializer(issue).data for issue in fresh] == [declared(i) for i in fresh]
    # Without a request (an event payload), the url is the path.
    assert IssueSerializer(loaded[0]).data["url"] == f"/api/v1/issues/{loaded[0].key}"
    labels = IssueSerializer(loaded[1]).data["labels"]
    assert [label["name"] for label in labels] == ["api", "bug", "ux"]


@pytest.mark.parametrize("cursor", [False, True])
@pytest.mark.parametrize("url", ["/api/v1/issues", "/api/v1/projects/{key}/issues"])
def test_list_rows_equal_the_declared_representation(issues, project, api_client, url, cursor):
    """Lists read dicts through .values() (issue_rows_data): each row must still be exactly
    what the issue's own representation is, labels in name order included."""
    api_client.force_authenticate(project.created_by)
    params = {"ordering": "number"} | ({"cursor": ""} if cursor else {})

    response = api_client.get(url.format(key=project.key), params)

    assert response.status_code == 200
    rows = response.json()["results"]
    visible = issues_visible(project.created_by).order_by("number")
    expected = [declared(issue, response.wsgi_request) for issue in visible]
    assert rows == expected
    assert rows[0]["url"] == f"http://testserver/api/v1/issues/{project.key}-1"
    assert [label["name"] for label in rows[1]["labels"]] == ["api", "bug", "ux"]
    assert rows[0]["assignee"] is None and rows[2]["reporter"] is None
    assert rows[0]["parent"] == {"key": rows[1]["key"], "title": rows[1]["title"]}
    assert (rows[0]["open_blockers"], rows[0]["blocked"]) == (1, True)
    assert rows[1]["children"] == {"open": 1, "total": 1}


def test_a_cursor_over_an_annotated_ordering_reads_the_annotation(issues, project, api_client):
    # status sorts on an annotation (status_rank): the row dicts must carry it for the cursor.
    api_client.force_authenticate(project.created_by)
    url = f"/api/v1/projects/{project.key}/issues"

    first = api_client.get(url, {"ordering": "-status", "page_size": 2, "cursor": ""}).json()
    second = api_client.get(first["next"]).json()

    statuses = [row["status"] for row in first["results"] + second["results"]]
    assert statuses == ["closed", "open", "open"]
    assert "status_rank" not in first["results"][0]
    assert second["next"] is None


def test_the_detail_reads_labels_as_the_prefetch_does(project):
    """issue_get_visible reads an issue's labels in its own row on PostgreSQL (one round
    trip): the same labels, in the same order (the database's, by name), as the prefetch
    every other read uses, and none for an issue without labels."""
    names = ["ux", "API", "api-v2", "Bug", "büg", "a b"]
    labels = [LabelFactory(project=project, name=name) for name in names]
    tagged, bare = IssueFactory(project=project), IssueFactory(project=project)
    tagged.labels.set(labels)
    owner = project.created_by
    for issue in (tagged, bare):
        read = issue_get_visible(owner, issue.key)
        prefetched = issues_visible(owner).get(pk=issue.pk).prefetched_labels
        assert [(label.pk, label.name, label.color) for label in read.prefetched_labels] == [
            (label.pk, label.name, label.color) for label in prefetched
        ]
        assert len(read.prefetched_labels) == (len(names) if issue is tagged else 0)
        assert (
            IssueSerializer(read).data["labels"]
            == IssueSerializer(issues_visible(owner).get(pk=issue.pk)).data["labels"]
        )
