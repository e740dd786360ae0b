from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.permissions import IsAuthenticated

from accounts.callers import Caller
from api.conditional import ConditionalMixin
from api.filters import StrictQueryMixin
from projects.models import Project
from projects.permissions import CanViewProject, HasRights

from . import services
from .models import Comment
from .serializers import CommentSerializer


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
