from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.permissions import IsAuthenticated

from accounts.callers import Caller
from api.conditional import ConditionalMixin
from api.filters import RepeatedParametersFilter, StrictOrderingFilter, StrictQueryMixin
from api.idempotency import IdempotentCreateMixin
from api.pagination import FlexiblePagination
from api.schema import links_to
from issues.selectors import issue_get_visible
from issues.services import issue_comment
from projects.models import Project
from projects.permissions import CanViewProject, HasRights

from . import services
from .filters import CommentFilter
from .models import Comment
from .serializers import CommentSerializer


class IssueCommentViewSet(
    StrictQueryMixin,
    ConditionalMixin,
    IdempotentCreateMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """The comments of one issue, oldest first."""

    queryset = Comment.objects.none()  # for the schema; get_queryset() scopes to the issue
    serializer_class = CommentSerializer
    schema_links = {
        "create": {
            "201": links_to(
                ["comments_get", "comments_update", "comments_delete"],
                comment_id="$response.body#/id",
            )
        }
    }
    filter_backends = [RepeatedParametersFilter, DjangoFilterBackend, StrictOrderingFilter]
    filterset_class = CommentFilter
    pagination_class = FlexiblePagination
    ordering = ["created_at"]
    ordering_fields = {"created_at": "created_at", "updated_at": "updated_at"}
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    rights = {"create": "comment"}

    def get_issue(self):
        if not hasattr(self, "_issue"):
            self._issue = issue_get_visible(
                Caller.of(self.request), self.kwargs["issue_key"], labels=False
            )
        return self._issue

    def get_project(self):
        return self.get_issue().project

    def get_queryset(self):
        # Through the issue's manager: each comment gets the issue already read (with its
        # project) instead of a copy joined into every row.
        return self.get_issue().comments.select_related("author")

    def perform_create(self, serializer):
        # Through the issues app, which records the comment in the issue's history.
        serializer.instance = issue_comment(
            issue=self.get_issue(), author=self.request.user, **serializer.validated_data
        )


@extend_schema_view(
    partial_update=extend_schema(description="Change the comment's body: its author only."),
    destroy=extend_schema(
        description="Delete the comment: its author, or a maintainer of the project."
    ),
)
class CommentViewSet(
    StrictQueryMixin,
    ConditionalMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """A comment by id. Authors edit and delete their own; maintainers delete any."""

    serializer_class = CommentSerializer
    lookup_url_kwarg = "comment_id"
    http_method_names = ["get", "patch", "delete", "head", "options"]
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    rights = {"partial_update": "edit_comment", "destroy": "delete_comment"}

    def get_queryset(self):
        visible = Project.objects.visible_to(Caller.of(self.request)).values("pk")
        return Comment.objects.filter(issue__project__in=visible).select_related(
            "author", "issue__project"
        )

    def perform_update(self, serializer):
        serializer.instance = services.comment_update(
            comment=serializer.instance,
            actor=self.request.user,
            expected=self.expected(),
            **serializer.validated_data,
        )

    def perform_destroy(self, instance):
        services.comment_delete(
            comment=instance, actor=self.request.user, expected=self.expected()
        )
