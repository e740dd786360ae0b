"""The benchmark's references for the issue list, an issue, the inbox and the files of an
issue, mounted only by bench/urls.py.

- The data floor: the same 50 rows as the API's first page, with the same joins, read
  through .values(), rendered by the issue's one representation (issues/representation.py)
  and encoded with orjson: no authentication, no DRF, nothing but Django's request cycle
  and the database. Nothing serving these rows can be cheaper.
  Given the filters of a scenario (by id, already resolved) it reads that scenario's rows,
  and with `count=1` also counts them up to the API's cap, as page numbers do. At
  /bench/floor/issues/<key> it serves one issue as the API's detail does.
- The data floors of the inbox (/bench/floor/notifications) and of the files of an issue
  (/bench/floor/attachments), built the same way (also served by bench/notifications.py
  and bench/attachments.py, which measure those features alone).
- The naive baseline: what a first DRF implementation typically looks like: a
  ModelViewSet with nested ModelSerializers, no select_related or prefetch_related,
  page numbers with a full COUNT, DRF's JSON renderer.
"""

import orjson
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.lookups import IsNull
from django.http import HttpResponse
from rest_framework import pagination, renderers, serializers, viewsets

from accounts.models import User
from api.pagination import COUNT_CAP
from attachments.models import Attachment
from issues.filters import SEARCH_COUNT_CAP
from issues.models import Issue, IssueRelation, Label
from issues.representation import ISSUE_ROW_FIELDS
from issues.serializers import issue_rows_data
from notifications.models import Thread
from projects.models import Project

PAGE_SIZE = 50
NEWEST = ["-updated_at", "-id"]


def _ids(text: str) -> list[int]:
    return [int(pk) for pk in text.split(",") if pk]


def floor_issues(params):
    """The issues of `projects` (ids), narrowed by `status`, `assignee` (id), `labels` (ids,
    any of them) and `search` (full text, PostgreSQL) when given."""
    issues = Issue.objects.filter(project__in=_ids(params.get("projects", "")))
    if params.get("status"):
        issues = issues.filter(status=params["status"])
    if params.get("assignee"):
        issues = issues.filter(assignee_id=int(params["assignee"]))
    if params.get("labels"):
        # Checked per issue, as the API does (issues/filters.py says why).
        tagged = Issue.labels.through.objects.filter(
            issue=OuterRef("pk"), label__in=_ids(params["labels"])
        )
        issues = issues.filter(IsNull(Subquery(tagged.values("issue")[:1]), False))
    if params.get("blocked"):
        # Open blockers in the given projects, as the API's blocked=true.
        blockers = IssueRelation.objects.filter(
            type="blocks",
            target=OuterRef("pk"),
            source__status__in=Issue.OPEN_STATUSES,
            source__project__in=_ids(params.get("projects", "")),
        )
        issues = issues.filter(Exists(blockers))
    if params.get("parent"):
        children = IssueRelation.objects.filter(type="parent", target_id=int(params["parent"]))
        issues = issues.filter(pk__in=children.values("source"))
    if params.get("search"):
        from django.contrib.postgres.search import SearchQuery  # PostgreSQL only

        query = SearchQuery(params["search"], config="english", search_type="websearch")
        issues = issues.filter(search_vector=query)
    return issues


def floor_issue_list(request):
    """The first 50 issues of the given projects (`?projects=1,2`), newest change first, or
    by priority (`ordering=-priority`), filtered as floor_issues says; `count=1` adds the
    number of matches up to the API's cap."""
    issues = floor_issues(request.GET)
    body = {}
    if request.GET.get("count"):
        # The API's count: a search's up to its own cap, in the list's order (as
        # issues.selectors.issue_list_count says).
        if request.GET.get("search"):
            counted = issues.order_by("-updated_at", "-id").values("pk")[: SEARCH_COUNT_CAP + 1]
        else:
            counted = issues.order_by().values("pk")[: COUNT_CAP + 1]
        body["count"] = counted.count()
    order = ["-priority", "-id"] if request.GET.get("ordering") == "-priority" else NEWEST
    rows = list(_values(issues.order_by(*order))[:PAGE_SIZE])
    body["results"] = _items(rows, request)
    return HttpResponse(
        orjson.dumps(body, option=orjson.OPT_UTC_Z), content_type="application/json"
    )


def _values(issues):
    """The columns of an issue's representation, with its project and people."""
    return issues.values(*ISSUE_ROW_FIELDS)


def _items(rows: list[dict], request) -> list[dict]:
    """The rows as the API renders them, with their labels and relations (one query each),
    relations to the given projects' issues."""
    return issue_rows_data(rows, request, reader=_ids(request.GET.get("projects", "")))


def floor_issue_detail(request, key: str):
    """One issue by key, in the given projects (`?projects=1,2`), as the API's detail."""
    project, _, number = key.rpartition("-")
    issues = Issue.objects.filter(
        project__in=_ids(request.GET.get("projects", "")), project__key=project, number=int(number)
    )
    items = _items(list(_values(issues)), request)
    if not items:
        return HttpResponse(
            b'{"detail": "not found"}', status=404, content_type="application/json"
        )
    return HttpResponse(
        orjson.dumps(items[0], option=orjson.OPT_UTC_Z), content_type="application/json"
    )


class NaiveProjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["id", "key", "name"]


class NaiveUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "display_name", "type"]


class NaiveLabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name", "color"]


class NaiveIssueSerializer(serializers.ModelSerializer):
    project = NaiveProjectSerializer()
    reporter = NaiveUserSerializer()
    assignee = NaiveUserSerializer()
    labels = NaiveLabelSerializer(many=True)

    class Meta:
        model = Issue
        fields = [
            "id",
            "number",
            "project",
            "title",
            "description",
            "type",
            "priority",
            "status",
            "resolution",
            "reporter",
            "assignee",
            "labels",
            "due_date",
            "created_at",
            "updated_at",
            "resolved_at",
            "closed_at",
        ]


class NaivePagination(pagination.PageNumberPagination):
    page_size = PAGE_SIZE


class NaiveIssueViewSet(viewsets.ModelViewSet):
    """Issues in the projects the caller may see (the same rows as the API)."""

    serializer_class = NaiveIssueSerializer
    pagination_class = NaivePagination
    renderer_classes = [renderers.JSONRenderer]

    def get_queryset(self):
        return Issue.objects.filter(project__in=Project.objects.visible_to(self.request.user))


# The inbox and the files of an issue: the same pages as GET /api/v1/me/notifications and
# GET /api/v1/issues/{key}/attachments, for the user named by `?user=`.
INBOX_FIELDS = (
    "id",
    "reason",
    "event_id",
    "updated_at",
    "read_at",
    "issue__number",
    "issue__title",
    "issue__status",
    "project__key",
    "actor__id",
    "actor__username",
    "actor__display_name",
    "actor__type",
)


def floor_notifications(request):
    """The inbox's first page (or `unread=true`'s) of the user `?user=`."""
    user = User.objects.get(pk=int(request.GET["user"]))
    visible = Project.objects.visible_to(user).values("pk")
    threads = Thread.objects.filter(user=user, done_at__isnull=True, project_id__in=visible)
    if request.GET.get("unread") == "true":
        threads = threads.filter(read_at__isnull=True)
    size = int(request.GET.get("page_size", 50))
    rows = list(threads.order_by("-updated_at", "-id").values(*INBOX_FIELDS)[: size + 1])
    body = {"next": None, "previous": None, "results": rows[:size]}
    return HttpResponse(orjson.dumps(body), content_type="application/json")


ATTACHMENT_FIELDS = (
    "id",
    "comment_id",
    "filename",
    "size",
    "content_type",
    "sha256",
    "status",
    "reason",
    "created_at",
    "uploader__id",
    "uploader__username",
    "uploader__display_name",
    "uploader__type",
)


def floor_attachments(request):
    """The first page of the files of the issue `?issue=`, as `?user=` sees it."""
    user = User.objects.get(pk=int(request.GET["user"]))
    key = request.GET["issue"]
    project_key, number = key.rsplit("-", 1)
    visible = Project.objects.visible_to(user).values("pk")
    issue = Issue.objects.values("pk").get(
        project__key=project_key, number=int(number), project__in=visible
    )
    size = int(request.GET.get("page_size", 50))
    attachments = Attachment.objects.filter(issue_id=issue["pk"])
    count = attachments.count()
    rows = list(attachments.order_by("created_at", "id").values(*ATTACHMENT_FIELDS)[:size])
    base = request.build_absolute_uri("/api/v1/attachments/")
    for row in rows:
        row["issue"] = key
        row["url"] = f"{base}{row['id']}"
        row["download_url"] = f"{base}{row['id']}/content"
    body = {"count": count, "count_exact": True, "next": None, "previous": None, "results": rows}
    return HttpResponse(orjson.dumps(body), content_type="application/json")
