from django.db import transaction
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from config.filters import (
    RepeatedParametersFilter,
    StrictOrderingFilter,
    StrictQueryMixin,
    StrictSearchFilter,
)
from config.http import ConditionalMixin, IdempotentCreateMixin

from . import services
from .filters import MembershipFilter, ProjectFilter
from .models import Membership, Project
from .permissions import (
    CanGrantRequestedRole,
    CanManageTargetMember,
    IsMembershipSelf,
    IsProjectActive,
    IsProjectMaintainer,
    IsProjectOwner,
    IsProjectViewer,
)
from .selectors import project_get_visible, projects_visible
from .serializers import (
    MembershipCreateSerializer,
    MembershipRoleSerializer,
    MembershipSerializer,
    ProjectPermissionsSerializer,
    ProjectSerializer,
)


class ProjectScopedMixin:
    """For resources under /projects/{project_key}/: loads the project once, 404 if hidden."""

    def get_project(self) -> Project:
        if not hasattr(self, "_project"):
            self._project = project_get_visible(self.request.user, self.kwargs["project_key"])
        return self._project


class ProjectViewSet(
    StrictQueryMixin, ConditionalMixin, IdempotentCreateMixin, viewsets.ModelViewSet
):
    """Projects the caller can see; archived ones are listed with `?archived=true`."""

    serializer_class = ProjectSerializer
    filter_backends = [
        RepeatedParametersFilter,
        DjangoFilterBackend,
        StrictSearchFilter,
        StrictOrderingFilter,
    ]
    filterset_class = ProjectFilter
    search_fields = ["key", "name", "description"]
    ordering = ["name"]
    ordering_fields = {
        "name": "name",
        "key": "key",
        "created_at": "created_at",
        "updated_at": "updated_at",
    }
    lookup_field = "key"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    etag_actions = ("list", "retrieve", "partial_update", "archive", "unarchive", "permissions_me")
    permission_classes_by_action = {
        "partial_update": [IsProjectMaintainer, IsProjectActive],
        "destroy": [IsProjectOwner],
        "archive": [IsProjectOwner],
        "unarchive": [IsProjectOwner],
    }

    def get_permissions(self):
        extra = self.permission_classes_by_action.get(self.action, [])
        return [IsAuthenticated(), IsProjectViewer(), *(cls() for cls in extra)]

    def get_queryset(self):
        return projects_visible(self.request.user)

    def get_object(self):
        project = project_get_visible(self.request.user, self.kwargs["key"])
        self.check_object_permissions(self.request, project)
        return project

    def perform_create(self, serializer):
        serializer.instance = services.project_create(
            creator=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.instance = services.project_update(
                project=self.locked_if_match(serializer.instance), **serializer.validated_data
            )

    def perform_destroy(self, instance):
        with transaction.atomic():
            services.project_delete(project=self.locked_if_match(instance))

    @extend_schema(request=None, responses=ProjectSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, key=None):
        """Make the project read-only and hide it from default lists."""
        project = services.project_archive(project=self.get_object())
        return Response(self.get_serializer(project).data)

    @extend_schema(request=None, responses=ProjectSerializer)
    @action(detail=True, methods=["post"])
    def unarchive(self, request, key=None):
        project = services.project_unarchive(project=self.get_object())
        return Response(self.get_serializer(project).data)

    @extend_schema(responses=ProjectPermissionsSerializer)
    @action(detail=True, methods=["get"], url_path="permissions/me")
    def permissions_me(self, request, key=None):
        """The caller's role and every action they may take in this project now."""
        project = self.get_object()
        return Response(ProjectPermissionsSerializer(project, context={"request": request}).data)


class MembershipViewSet(
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
    """The members of a project, by username."""

    queryset = Membership.objects.none()  # for the schema; get_queryset() scopes to the project
    serializer_class = MembershipSerializer
    filter_backends = [
        RepeatedParametersFilter,
        DjangoFilterBackend,
        StrictSearchFilter,
        StrictOrderingFilter,
    ]
    filterset_class = MembershipFilter
    search_fields = ["user__username", "user__display_name"]
    ordering = ["-role", "user__username"]
    ordering_fields = {"role": "role", "username": "user__username", "created_at": "created_at"}
    lookup_field = "user__username"
    lookup_url_kwarg = "username"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self):
        rules = [IsAuthenticated(), IsProjectViewer()]
        if self.action in ("create", "partial_update"):
            rules += [IsProjectMaintainer(), IsProjectActive(), CanGrantRequestedRole()]
        if self.action == "partial_update":
            rules.append(CanManageTargetMember())
        if self.action == "destroy":
            # Maintainers remove members below owner; anyone may leave.
            rules += [
                IsProjectActive(),
                ((IsProjectMaintainer & CanManageTargetMember) | IsMembershipSelf)(),
            ]
        return rules

    def get_queryset(self):
        return Membership.objects.filter(project=self.get_project()).select_related("user")

    def get_object(self):
        membership = get_object_or_404(
            self.get_queryset(), user__username__iexact=self.kwargs["username"]
        )
        self.check_object_permissions(self.request, membership)
        return membership

    def get_serializer_class(self):
        # By method, so the browsable API's form on the list asks for a username.
        if self.request.method == "POST":
            return MembershipCreateSerializer
        return MembershipSerializer

    @extend_schema(request=MembershipCreateSerializer, responses={201: MembershipSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_add(
            project=self.get_project(),
            user=serializer.validated_data["username"],
            role=serializer.validated_data["role"],
        )
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MembershipRoleSerializer, responses=MembershipSerializer)
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)

    def perform_update(self, serializer):
        if "role" not in serializer.validated_data:
            raise ValidationError({"role": "This field is required."}, code="required")
        with transaction.atomic():
            serializer.instance = services.membership_change_role(
                membership=self.locked_if_match(serializer.instance),
                role=serializer.validated_data["role"],
            )

    def perform_destroy(self, instance):
        with transaction.atomic():
            services.membership_remove(membership=self.locked_if_match(instance))
