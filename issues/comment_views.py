"""The comments of one issue (`/issues/{issue_key}/comments`). They live with the issue
aggregate, not in the comments app: listing them starts from the issue the caller can see,
and writing one records it in the issue's history, both the issues app's to do; the
comments app below keeps the comment itself (`/comments/{comment_id}`)."""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import mixins, viewsets
from rest_framework.permissions import IsAuthenticated

from api.conditional import ConditionalMixin
from api.filters import RepeatedParametersFilter, StrictOrderingFilter, StrictQueryMixin
from api.idempotency import IdempotentCreateMixin
from api.pagination import FlexiblePagination
from api.schema import links_to
from comments.filters import CommentFilter
from comments.models import Comment
from comments.serializers import CommentSerializer
from projects.permissions import CanViewProject, HasRights

from .mixins import IssueScopedMixin
from .services import issue_comment


class IssueCommentViewSet(
    StrictQueryMixin,
    IssueScopedMixin,
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

    def get_queryset(self):
        # Through the issue's manager: each comment gets the issue already read (with its
        # project) instead of a copy joined into every row.
        return self.get_issue().comments.select_related("author")

    def perform_create(self, serializer):
        # Through the issues app, which records the comment in the issue's history.
        serializer.instance = issue_comment(
            issue=self.get_issue(), author=self.request.user, **serializer.validated_data
        )
