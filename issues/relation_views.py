"""The relations of one issue (`/issues/{issue_key}/relations`): blocks, duplicates,
related issues and sub-issues, each as this issue reads it, only those whose other issue
the caller can see."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.callers import Caller
from api.conditional import ConditionalMixin
from api.filters import RepeatedParametersFilter, StrictQueryMixin
from api.pagination import FlexiblePagination
from projects.permissions import CanViewProject, HasRights

from .mixins import IssueScopedMixin
from .models import IssueRelation
from .relation_serializers import IssueRelationCreateSerializer, IssueRelationSerializer
from .relations import relation_create, relation_delete, relations_of


class IssueRelationViewSet(
    StrictQueryMixin,
    IssueScopedMixin,
    ConditionalMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """The relations of one issue, oldest first."""

    queryset = IssueRelation.objects.none()  # for the schema; get_queryset() scopes to the issue
    serializer_class = IssueRelationSerializer
    lookup_url_kwarg = "relation_id"
    lookup_value_regex = "[0-9]+"
    filter_backends = [RepeatedParametersFilter]
    pagination_class = FlexiblePagination
    etag_actions = ("list",)
    if_match_actions = ()  # a relation has no version: it is there or not
    conflict_actions = ("create",)  # a cycle, a second parent, the same relation twice
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    rights = {"create": "relate_issues", "destroy": "relate_issues"}

    def get_queryset(self):
        return relations_of(self.get_issue(), Caller.of(self.request)).order_by("created_at", "id")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "issue": self.get_issue()}

    @extend_schema(request=IssueRelationCreateSerializer, responses={201: IssueRelationSerializer})
    def create(self, request, issue_key=None):
        """Relate this issue to another one the caller can see (`{"type": "blocks",
        "issue": "API-7"}`); the type is as this issue reads it."""
        serializer = IssueRelationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        relation = relation_create(
            issue=self.get_issue(),
            actor=Caller.of(request),
            type=serializer.validated_data["type"],
            other=serializer.validated_data["issue"],
        )
        data = IssueRelationSerializer(relation, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={204: None},
        parameters=[
            OpenApiParameter(
                "relation_id",
                int,
                OpenApiParameter.PATH,
                description="The relation's id, as the issue's relations list it.",
            )
        ],
    )
    def destroy(self, request, issue_key=None, relation_id=None):
        """Remove the relation from both issues."""
        relation_delete(issue=self.get_issue(), actor=Caller.of(request), relation_id=relation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
