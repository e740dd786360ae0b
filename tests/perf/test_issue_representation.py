"""IssueSerializer writes its representation by hand for speed; it must stay exactly what
its declared fields would give."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers

from issues.serializers import IssueSerializer
from issues.views import visible_issues
from tests.factories import IssueFactory, LabelFactory, UserFactory

pytestmark = pytest.mark.django_db


def declared(issue) -> dict:
    """The representation DRF builds field by field from the declared fields."""
    return serializers.ModelSerializer.to_representation(IssueSerializer(), issue)


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
    return [plain, full, orphan]


def test_the_lean_representation_equals_the_declared_one(issues, project):
    user = project.created_by
    loaded = list(visible_issues(user).order_by("id"))  # labels prefetched into a list
    assert [IssueSerializer(issue).data for issue in loaded] == [
        declared(issue) for issue in loaded
    ]
    fresh = [type(issue).objects.get(pk=issue.pk) for issue in issues]  # labels not prefetched
    assert [IssueSerializer(issue).data for issue in fresh] == [declared(i) for i in fresh]
    labels = IssueSerializer(loaded[1]).data["labels"]
    assert [label["name"] for label in labels] == ["api", "bug", "ux"]
