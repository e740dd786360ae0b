from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.callers import Caller
from accounts.models import PersonalAccessToken, User
from accounts.serializers import (
    PersonalAccessTokenCreatedSerializer,
    PersonalAccessTokenSerializer,
)
from accounts.services import pat_revoke
from accounts.views import token_created
from api.clients import client_ip
from api.conditional import ConditionalMixin
from api.filters import (
    RepeatedParametersFilter,
    StrictOrderingFilter,
    StrictQueryMixin,
    StrictSearchFilter,
)
from api.idempotency import IdempotentCreateMixin
from api.schema import links_to

from . import services
from .filters import MembershipFilter, ProjectFilter
from .mixins import ProjectScopedMixin
from .models import Membership
from .permissions import CanViewProject, HasRights, membership_right
from .selectors import project_get_visible, projects_visible
from .serializers import (
    BotCreateSerializer,
    BotTokenCreateSerializer,
    MembershipCreateSerializer,
    MembershipRoleSerializer,
    MembershipSerializer,
    ProjectPermissionsSerializer,
    ProjectSerializer,
)


class ProjectViewSet(
    StrictQueryMixin, ConditionalMixin, IdempotentCreateMixin, viewsets.ModelViewSet
):
    """Projects the caller can see; archived ones are listed with `?archived=true`."""

    serializer_class = ProjectSerializer
    schema_links = {
        "create": {
            "201": links_to(
                [
                    *("projects_get", "projects_update", "projects_delete", "projects_archive"),
                    *("projects_unarchive", "projects_permissions_me", "projects_issues_list"),
                    *("projects_issues_create", "projects_labels_list", "projects_labels_create"),
                    *("projects_members_list", "projects_members_create"),
                ],
                project_key="$response.body#/key",
            )
        }
    }
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
    lookup_url_kwarg = "project_key"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    etag_actions = ("list", "retrieve", "partial_update", "archive", "unarchive", "permissions_me")
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    # The right (rights.py) each action takes beyond seeing the project; creating one is
    # a site-level right (there is no project yet).
    rights = {
        "create": "create_project",
        "partial_update": "edit_project",
        "destroy": "delete_project",
        "archive": "archive_project",
        "unarchive": "archive_project",
    }

    def get_queryset(self):
        return projects_visible(Caller.of(self.request))

    def get_object(self):
        project = project_get_visible(Caller.of(self.request), self.kwargs["project_key"])
        self.check_object_permissions(self.request, project)
        return project

    def perform_create(self, serializer):
        serializer.instance = services.project_create(
            creator=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.project_update(
            project=serializer.instance,
            actor=self.request.user,
            expected=self.expected(),
            **serializer.validated_data,
        )

    def perform_destroy(self, instance):
        services.project_delete(
            project=instance, actor=self.request.user, expected=self.expected()
        )

    @extend_schema(request=None, responses=ProjectSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, project_key=None):
        """Make the project read-only and hide it from default lists."""
        project = services.project_archive(
            project=self.get_object(), actor=request.user, expected=self.expected()
        )
        return Response(self.get_serializer(project).data)

    @extend_schema(request=None, responses=ProjectSerializer)
    @action(detail=True, methods=["post"])
    def unarchive(self, request, project_key=None):
        """Make an archived project writable again and list it by default."""
        project = services.project_unarchive(
            project=self.get_object(), actor=request.user, expected=self.expected()
        )
        return Response(self.get_serializer(project).data)

    @extend_schema(responses=ProjectPermissionsSerializer)
    @action(detail=True, methods=["get"], url_path="permissions/me")
    def permissions_me(self, request, project_key=None):
        """The caller's role and every action they may take in this project now."""
        project = self.get_object()
        return Response(ProjectPermissionsSerializer(project, context={"request": request}).data)


@extend_schema_view(
    destroy=extend_schema(
        description="Remove the member from the project: maintainers remove members below "
        "owner, and anyone may leave."
    )
)
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
    # A member already, or a change that would leave the project without an owner.
    conflict_actions = ("create", "update", "partial_update", "destroy")
    schema_links = {
        "create": {
            "201": links_to(
                ["projects_members_get", "projects_members_update", "projects_members_delete"],
                project_key="$request.path.project_key",
                username="$response.body#/user/username",
            )
        }
    }
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
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    rights = dict.fromkeys(("create", "partial_update", "destroy"), membership_right)

    def get_queryset(self):
        # The project for each membership's url, in the same query.
        project = self.get_project()
        return Membership.objects.filter(project=project).select_related("user", "project")

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

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if "project_key" in self.kwargs:  # not when the schema is generated
            context["project"] = self.get_project()  # whose bots a new member may be
        return context

    @extend_schema(request=MembershipCreateSerializer, responses={201: MembershipSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_add(
            project=self.get_project(),
            user=serializer.validated_data["username"],
            role=serializer.validated_data["role"],
            actor=request.user,
        )
        data = MembershipSerializer(membership, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MembershipRoleSerializer, responses=MembershipSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Change the member's role: maintainers, up to their own role."""
        return super().partial_update(request, *args, **kwargs)

    def perform_update(self, serializer):
        if "role" not in serializer.validated_data:
            raise ValidationError({"role": "This field is required."}, code="required")
        serializer.instance = services.membership_change_role(
            membership=serializer.instance,
            role=serializer.validated_data["role"],
            actor=self.request.user,
            expected=self.expected(),
        )

    def perform_destroy(self, instance):
        services.membership_remove(
            membership=instance, actor=self.request.user, expected=self.expected()
        )


class BotViewSet(
    StrictQueryMixin,
    ProjectScopedMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """A project's bots: users that act only through personal access tokens, with a role
    here like any member's (their memberships are among the members too)."""

    queryset = Membership.objects.none()  # for the schema; get_queryset() scopes to the project
    serializer_class = MembershipSerializer
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    rights = {"create": "manage_members"}

    def get_queryset(self):
        return Membership.objects.filter(
            project=self.get_project(), user__type=User.Type.BOT
        ).select_related("user", "project")

    def get_serializer_class(self):
        if self.request.method == "POST":
            return BotCreateSerializer
        return MembershipSerializer

    @extend_schema(request=BotCreateSerializer, responses={201: MembershipSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.bot_create(
            project=self.get_project(), actor=request.user, **serializer.validated_data
        )
        return Response(
            MembershipSerializer(membership, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class BotTokenViewSet(
    StrictQueryMixin,
    ProjectScopedMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """A bot's personal access tokens, managed by the project's maintainers and owners;
    each is limited to the project."""

    queryset = PersonalAccessToken.objects.none()  # for the schema
    serializer_class = PersonalAccessTokenSerializer
    lookup_url_kwarg = "token_id"
    lookup_value_regex = "[0-9]+"
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    # A token may manage tokens only with `tokens:write`, as at /me/tokens.
    rights = dict.fromkeys(
        ("list", "create", "destroy", "metadata"), ("manage_members", "manage_tokens")
    )

    def get_bot(self) -> User:
        if not hasattr(self, "_bot"):
            # Only this project's own bots: another's answers as a name nobody has.
            self._bot = get_object_or_404(
                User,
                username__iexact=self.kwargs["username"],
                type=User.Type.BOT,
                bot_project=self.get_project(),
            )
        return self._bot

    def get_queryset(self):
        return PersonalAccessToken.objects.filter(
            user=self.get_bot(), revoked_at__isnull=True
        ).prefetch_related("projects")

    def get_object(self):
        # The rights were checked on the project (has_permission); a token is no object
        # of the rights table.
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["token_id"])

    def get_serializer_class(self):
        if self.request.method == "POST":
            return BotTokenCreateSerializer
        return PersonalAccessTokenSerializer

    @extend_schema(
        request=BotTokenCreateSerializer, responses={201: PersonalAccessTokenCreatedSerializer}
    )
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return token_created(
            request,
            user=self.get_bot(),
            projects=[self.get_project()],
            **serializer.validated_data,
        )

    def perform_destroy(self, instance):
        pat_revoke(token=instance, actor=self.request.user, ip=client_ip(self.request))
