"""Reads of issues that views, services, the admin and commands share (services push,
selectors pull)."""

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef, Prefetch
from django.db.models.functions import JSONObject
from django.shortcuts import get_object_or_404

from accounts.callers import user_of
from api.pagination import count_rows
from projects.selectors import visible_project_ids

from .filters import SEARCH_RANK
from .models import Issue, Label
from .representation import ISSUE_ROW_FIELDS


def issues_visible(user, labels: bool = True):
    """The issues `user` may see, with what their representation reads."""
    return _representable(Issue.objects.visible_to(user), labels)


def _representable(issues, labels: bool = True):
    issues = issues.select_related("project", "reporter", "assignee").defer("search_vector")
    if labels:
        # Into a plain list (IssueSerializer reads it): prefetching into each issue's labels
        # manager builds a manager and clones a queryset per issue, which on a list of 50
        # costs more than the query itself.
        issues = issues.prefetch_related(
            Prefetch(
                "labels",
                queryset=Label.objects.only("id", "name", "color"),
                to_attr="prefetched_labels",
            )
        )
    return issues


def issues_by_key(user, key: str, labels: bool = True):
    """The issue `key` (`WEB-42`) names if `user` may see it (else none), with what its
    representation reads and the caller's role in its project (`member_role`)."""
    return issues_visible(user, labels=labels).by_key(key).with_member_role(user)


def issues_by_keys(user, keys):
    """issues_by_key for several keys at once: those `user` may see, in id order."""
    return issues_visible(user).by_keys(keys).with_member_role(user).order_by("pk")


def issue_with_role(issue: Issue, user) -> Issue:
    """`issue` read by issues_by_key, its project told the caller's role that came with the
    row, so permission checks ask no query of their own."""
    issue.project.member_role, issue.project.member_role_for = issue.member_role, user_of(user).pk
    return issue


def issue_get_visible(user, key: str, labels: bool = True) -> Issue:
    """An issue by key (`WEB-42`) in a project `user` may see; 404 otherwise. Without
    `labels`, they are not loaded (for resources under the issue, and writes, whose
    service reads the issue again with its row locked)."""
    if labels and connection.vendor == "postgresql":
        issues = issues_by_key(user, key, labels=False).annotate(label_rows=_LABEL_ROWS)
        issue = get_object_or_404(issues)
        issue.prefetched_labels = [Label(**row) for row in issue.label_rows]
        return issue_with_role(issue, user)
    return issue_with_role(get_object_or_404(issues_by_key(user, key, labels)), user)


# The issue detail's labels in the issue's own row, as an array: one round trip where the
# prefetch takes two, on the hottest read (bench/results/profile-detail.md). Ordered as the
# prefetch orders them (Label.Meta); tests/perf/test_issue_representation.py holds the
# two reads equal.
_LABEL_ROWS = ArraySubquery(
    Label.objects.filter(issues=OuterRef("pk"))
    .order_by("name", "pk")
    .values(row=JSONObject(id="id", name="name", color="color"))
)


def issues_for_write():
    """Every issue, with what its representation reads: where a service locks the row it
    changes (api.versions.lock_for_write), so the locked row renders as a GET does."""
    return _representable(Issue.objects.all())


def issues_listed(user, project=None):
    """The issues of a list: of `project` (which the caller has been shown to see), or of
    every project `user` may see. The visible projects are read first, as ids: PostgreSQL
    then plans for exactly those projects, and reads "my open bugs" from the assignee index
    instead of joining each visible project's open issues (README, "Performance")."""
    projects = [project.pk] if project is not None else visible_project_ids(user)
    return _representable(Issue.objects.filter(project_id__in=projects))


def issue_list_count(queryset, cap: int) -> int:
    """The list's count for page numbers, up to `cap` + 1. A full-text search counts its
    matches in the default list's order: where they are many (a common word), PostgreSQL
    then walks the `issue_updated` index and stops at the cap; where they are few, it reads
    them from the search index and sorts those few. Unordered, it would read the table."""
    if SEARCH_RANK in queryset.query.annotations:
        return queryset.order_by("-updated_at", "-id").values("pk")[: cap + 1].count()
    return count_rows(queryset, cap)


def issue_list_rows(queryset) -> list[dict]:
    """A page of the issue list as plain rows (issue_rows_data renders them and says why),
    with the annotations some orderings sort on, which a cursor reads back."""
    return list(queryset.values(*ISSUE_ROW_FIELDS, *queryset.query.annotations))
