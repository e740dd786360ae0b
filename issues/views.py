from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.callers import Caller
from api.conditional import ConditionalMixin, etag_for
from api.errors import NotFound
from api.exceptions import described
from api.filters import (
    RepeatedParametersFilter,
    StrictOrderingFilter,
    StrictQueryMixin,
    StrictSearchFilter,
)
from api.idempotency import IdempotentCreateMixin
from api.pagination import COUNT_CAP, FlexiblePagination
from api.schema import links_to
from projects.mixins import ProjectScopedMixin
from projects.permissions import CanViewProject, HasRights

from . import services
from .filters import (
    SEARCH_COUNT_CAP,
    IssueEventFilter,
    IssueFilter,
    IssueFilterBackend,
    IssueOrderingFilter,
    IssueSearchFilter,
)
from .mixins import IssueScopedMixin
from .models import Issue, IssueEvent, Label
from .permissions import create_issue_right, edit_issue_right
from .selectors import issue_get_visible, issue_list_count, issue_list_rows, issues_listed
from .serializers import (
    BulkEditResultSerializer,
    BulkEditSerializer,
    IssueCreateSerializer,
    IssueEventSerializer,
    IssueSerializer,
    IssueWriteSerializer,
    LabelSerializer,
    TransitionOptionSerializer,
    TransitionRequestSerializer,
    issue_rows_data,
)
from .services import BulkRefused, issues_bulk_edit


class IssuePagination(FlexiblePagination):
    """Either pagination, reading the page as plain rows (issue_list_rows); a search counts
    to SEARCH_COUNT_CAP (issue_list_count)."""

    read_rows = staticmethod(issue_list_rows)
    count_rows = staticmethod(issue_list_count)

    def count_cap(self, request) -> int:
        searching = request.query_params.get("search", "").strip()
        return SEARCH_COUNT_CAP if searching else super().count_cap(request)

    def get_paginated_response_schema(self, schema):
        page = super().get_paginated_response_schema(schema)
        for field, text in (
            (
                "count",
                f"Rows matching the filters, exact up to {COUNT_CAP} "
                f"({SEARCH_COUNT_CAP} with ?search=).",
            ),
            (
                "count_exact",
                f"False when more than {COUNT_CAP} rows match "
                f"({SEARCH_COUNT_CAP} with ?search=).",
            ),
        ):
            page["properties"][field]["description"] = text
        return page


EXPAND = OpenApiParameter(
    "expand",
    str,
    enum=["relations"],
    description="`relations`: each issue carries `relations`, the list its relations "
    "endpoint answers (one more query for the whole page).",
)


class ExpandMixin:
    """`?expand=relations` on an issue's GET and on the issue lists."""

    expandable = ("list", "retrieve")

    def query_parameters(self) -> set[str]:
        accepted = super().query_parameters()
        return accepted | {"expand"} if self.action in self.expandable else accepted

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Blank (`?expand=`) expands nothing, as an absent parameter.
        unknown = set(request.query_params.getlist("expand")) - {"relations", ""}
        if unknown:
            raise ValidationError(
                {"expand": f"Cannot expand {', '.join(sorted(unknown))}; only relations."},
                code="invalid_choice",
            )


class IssueListMixin:
    """The issue list's query language: filters, search, ordering, both paginations."""

    filter_backends = [
        RepeatedParametersFilter,
        IssueFilterBackend,
        IssueSearchFilter,
        IssueOrderingFilter,
    ]
    filterset_class = IssueFilter
    pagination_class = IssuePagination
    ordering = ["-updated_at"]
    ordering_fields = {
        "created_at": "created_at",
        "updated_at": "updated_at",
        "priority": "priority",
        "status": "status_rank",
        "due_date": "due_sort",
        "number": "number",
        "title": "title",
        "rank": "rank",
    }

    @extend_schema(parameters=[EXPAND])
    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset()).prefetch_related(None)
        rows = issue_rows_data(self.paginate_queryset(queryset), request)
        return self.get_paginated_response(rows)


class IssueCreateMixin(IdempotentCreateMixin):
    """Create an issue: the project comes from the URL or, at /issues, from the body."""

    @extend_schema(
        request=IssueCreateSerializer,
        responses={201: IssueSerializer},
        examples=[
            OpenApiExample(
                "A bug",
                value={
                    "project": "WEB",
                    "title": "Login button does nothing on Safari",
                    "type": "bug",
                    "priority": "high",
                    "assignee": "alice",
                    "labels": ["frontend"],
                    "due_date": "2026-12-31",
                },
                request_only=True,
            )
        ],
    )
    def create(self, request, *args, **kwargs):
        return self.create_once(request, lambda: self.create_issue(request))

    def create_issue(self, request):
        serializer = IssueCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        project = data.pop("project", None) or self.get_project()
        self.check_object_permissions(request, project)
        issue = services.issue_create(project=project, reporter=Caller.of(request), **data)
        # The new issue as created, with its project, people and labels: no second read.
        data = IssueSerializer(issue, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)

    def get_serializer_class(self):
        if self.request.method == "POST":
            return IssueCreateSerializer
        if self.request.method == "PATCH":
            return IssueWriteSerializer
        return IssueSerializer


# What a client can do next with an issue an answer carries (api/schema.py).
ISSUE_LINKS = links_to(
    [
        *("issues_get", "issues_update", "issues_delete", "issues_transition"),
        *("issues_transitions", "issues_comments_list", "issues_comments_create"),
        "issues_events_list",
    ],
    issue_key="$response.body#/key",
)


class IssueViewSet(
    ExpandMixin,
    StrictQueryMixin,
    ConditionalMixin,
    IssueListMixin,
    IssueCreateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Issues in every project the caller can see, by key (`WEB-42`)."""

    serializer_class = IssueSerializer
    lookup_field = "key"
    lookup_url_kwarg = "issue_key"
    lookup_value_regex = "[^/]+"
    etag_actions = ("list", "retrieve", "partial_update", "transition", "transitions")
    if_match_actions = ("partial_update", "destroy", "transition")
    conflict_actions = ("transition",)  # not a transition the issue's status allows
    schema_links = {"create": {"201": ISSUE_LINKS}, "transition": {"200": ISSUE_LINKS}}
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    # A transition's right is the workflow's (issues/models.py): its service asks it.
    rights = {
        "create": create_issue_right,
        "partial_update": edit_issue_right,
        "destroy": "delete_issue",
    }

    def get_queryset(self):
        return issues_listed(Caller.of(self.request))

    def get_object(self):
        # A write's service reads the issue again with its row locked, labels and all.
        labels = self.action == "retrieve"
        issue = issue_get_visible(Caller.of(self.request), self.kwargs["issue_key"], labels=labels)
        self.check_object_permissions(self.request, issue)
        return issue

    @extend_schema(parameters=[EXPAND])
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    def get_serializer_class(self):
        # By method as well as action, so the browsable API's forms (rendered while
        # the action is still "list" or "retrieve") offer only what a client may set.
        if self.action == "transition":
            return TransitionRequestSerializer
        return super().get_serializer_class()

    @extend_schema(request=IssueWriteSerializer, responses=IssueSerializer)
    def partial_update(self, request, issue_key=None):
        """Change the fields sent; the others keep their value. The status changes only
        through POST /issues/{issue_key}/status."""
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        issue = services.issue_update(
            issue=serializer.instance,
            actor=Caller.of(request),
            expected=self.expected(),
            **serializer.validated_data,
        )
        # The issue as stored, read under the lock the change held: no second read.
        return Response(IssueSerializer(issue, context={"request": request}).data)

    def perform_destroy(self, instance):
        services.issue_delete(issue=instance, actor=self.request.user, expected=self.expected())

    @extend_schema(
        request=TransitionRequestSerializer,
        responses=IssueSerializer,
        examples=[
            OpenApiExample("Start work", value={"status": "in_progress"}, request_only=True),
            OpenApiExample(
                "Close as a duplicate",
                value={"status": "closed", "resolution": "duplicate", "comment": "See WEB-12."},
                request_only=True,
            ),
        ],
    )
    @action(detail=True, methods=["post"], url_path="status")
    def transition(self, request, issue_key=None):
        """Move the issue through the workflow; the target status names the transition."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The service reads the issue by its key once, locked, as the caller may see it (a
        # 404 otherwise) with their role and its labels; it checks the transition's right
        # itself. The answer is the issue it moved.
        issue = services.issue_transition(
            issue=issue_key,
            user=Caller.of(request),
            expected=self.expected(),
            **serializer.validated_data,
        )
        return Response(IssueSerializer(issue, context={"request": request}).data)

    @extend_schema(
        summary="List the transitions from the current status",
        responses=TransitionOptionSerializer(many=True),
    )
    # A short list: not paged, not filtered.
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def transitions(self, request, issue_key=None):
        """The transitions from the current status, whether the caller may take each now,
        and why not."""
        options = services.issue_available_transitions(
            issue=self.get_object(), user=Caller.of(request)
        )
        return Response(TransitionOptionSerializer(options, many=True).data)


class IssueEventViewSet(
    StrictQueryMixin,
    IssueScopedMixin,
    ConditionalMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """An issue's history, oldest first."""

    queryset = IssueEvent.objects.none()  # for the schema; get_queryset() scopes to the issue
    serializer_class = IssueEventSerializer
    permission_classes = [IsAuthenticated, CanViewProject]
    filter_backends = [RepeatedParametersFilter, DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = IssueEventFilter
    pagination_class = FlexiblePagination
    ordering = ["created_at"]
    ordering_fields = {"created_at": "created_at"}

    def get_queryset(self):
        return self.get_issue().events.select_related("actor")


# The project is the URL's: the body names none (a `project` in it is ignored).
@extend_schema_view(
    create=extend_schema(
        request=IssueWriteSerializer,
        examples=[
            OpenApiExample(
                "A bug",
                value={"title": "Login button does nothing on Safari", "type": "bug"},
                request_only=True,
            )
        ],
    )
)
class ProjectIssueViewSet(
    ExpandMixin,
    StrictQueryMixin,
    ConditionalMixin,
    ProjectScopedMixin,
    IssueListMixin,
    IssueCreateMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """The issues of one project."""

    queryset = Issue.objects.none()  # for the schema; get_queryset() scopes to the project
    serializer_class = IssueSerializer
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    rights = {"create": create_issue_right}
    schema_links = {"create": {"201": ISSUE_LINKS}}

    def get_queryset(self):
        return issues_listed(Caller.of(self.request), project=self.get_project())

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.request.method == "POST":
            context["project"] = self.get_project()
        return context


class LabelViewSet(
    StrictQueryMixin,
    ConditionalMixin,
    ProjectScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """A project's labels; maintainers manage them."""

    queryset = Label.objects.none()  # for the schema; get_queryset() scopes to the project
    serializer_class = LabelSerializer
    schema_links = {
        "create": {
            "201": links_to(
                ["projects_labels_get", "projects_labels_update", "projects_labels_delete"],
                project_key="$request.path.project_key",
                label_id="$response.body#/id",
            )
        }
    }
    lookup_url_kwarg = "label_id"
    filter_backends = [RepeatedParametersFilter, StrictSearchFilter, StrictOrderingFilter]
    search_fields = ["name", "description"]
    ordering = ["name"]
    ordering_fields = {"name": "name", "created_at": "created_at"}
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    rights = dict.fromkeys(("create", "partial_update", "destroy"), "manage_labels")

    def get_queryset(self):
        # The project for each label's url, in the same query.
        return Label.objects.filter(project=self.get_project()).select_related("project")

    def perform_create(self, serializer):
        serializer.instance = services.label_create(
            project=self.get_project(), actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.label_update(
            label=serializer.instance,
            actor=self.request.user,
            expected=self.expected(),
            **serializer.validated_data,
        )

    def perform_destroy(self, instance):
        services.label_delete(label=instance, actor=self.request.user, expected=self.expected())


class IssueBulkViewSet(StrictQueryMixin, IdempotentCreateMixin, viewsets.GenericViewSet):
    """Change many issues at once."""

    serializer_class = BulkEditSerializer
    # Each issue is checked as its single edit would be, by the service: visibility, the
    # right the change takes on it (with the token's scope), the workflow.
    permission_classes = [IsAuthenticated]

    def get_serializer_context(self):
        context = super().get_serializer_context()
        # An issue's version is the ETag its GET answers with (If-Match per issue).
        return {**context, "version_of": lambda row: etag_for(self.issue_data(row))}

    def issue_data(self, issue, relations=None):
        context = {"request": self.request, "relations": relations or {}}
        return IssueSerializer(issue, context=context).data

    @extend_schema(
        request=BulkEditSerializer,
        responses={200: BulkEditResultSerializer},
        examples=[
            OpenApiExample(
                "Close what a release fixed",
                value={
                    "issues": ["WEB-12", {"key": "WEB-14", "if_match": '"3f2a..."'}],
                    "changes": {"status": "closed", "resolution": "fixed", "labels_add": ["v2"]},
                    "mode": "atomic",
                },
                request_only=True,
            )
        ],
    )
    def create(self, request, *args, **kwargs):
        """Change many issues at once. One change goes to up to BULK_EDIT_MAX_ISSUES
        issues (100 by default), in any projects the caller can see. Each issue follows
        the rules of its single edit (rights, the workflow, assignees, archived
        projects); an issue the caller cannot see fails as a key that names nothing.
        `atomic` (the default): every issue changes or none does, and a 400 lists each
        issue's problems. `partial`: 200, with one result per issue. `dry_run` answers
        what a real run would, and changes nothing. Every event of the edit carries its
        `bulk_id`."""
        return self.create_once(request, lambda: self.edit(request))

    def edit(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = issues_bulk_edit(
            caller=Caller.of(request),
            targets=data["issues"],
            changes=data["changes"],
            atomic=data["mode"] == "atomic",
            dry_run=data["dry_run"],
        )
        results = [self.result(outcome, result.relations) for outcome in result.outcomes]
        if data["mode"] == "atomic" and result.failed:
            raise BulkRefused(
                f"{len(result.failed)} of {len(results)} issues cannot be changed "
                f"({', '.join(o.key for o in result.failed[:10])}), so none was.",
                errors=[
                    {"key": r["key"], "status": r["status"], **error}
                    for r in results
                    for error in r["errors"]
                ],
            )
        # Built here, as described by BulkEditResultSerializer (the schema's), from the
        # issues' own representations.
        body = {
            "bulk_id": str(result.bulk_id) if result.bulk_id else None,
            "mode": data["mode"],
            "dry_run": data["dry_run"],
            "succeeded": len(results) - len(result.failed),
            "failed": len(result.failed),
            "results": results,
        }
        return Response(body)

    def result(self, outcome, relations) -> dict:
        if outcome.ok:
            issue = self.issue_data(outcome.issue, relations)
            return {
                "key": outcome.key,
                "status": 200,
                "issue": issue,
                "etag": etag_for(issue),
                "errors": [],
            }
        status_code, errors = described(outcome.error)
        # A refusal of the issue as a whole (not found, no right, stale) names no field.
        errors = [{**error, "field": error["field"] or "issue"} for error in errors]
        return {
            "key": outcome.key,
            "status": status_code,
            "issue": None,
            "etag": None,
            "errors": errors,
        }

    def check_replay(self, data) -> None:
        # A replay shows issues as they were changed: only to a caller who still sees them.
        ids = {r["issue"]["id"] for r in data["results"] if r["issue"] is not None}
        if issues_listed(Caller.of(self.request)).filter(pk__in=ids).count() != len(ids):
            raise NotFound()
