from django.core.validators import RegexValidator
from rest_framework import serializers

from accounts.callers import Caller
from accounts.serializers import PersonalAccessTokenCreateSerializer, UserSummarySerializer
from api.fields import RankChoiceField, StrictCharField, StrictModelSerializer
from api.links import DetailUrlField

from .models import Membership, Project, Role
from .representation import caller_role, membership_data, project_data
from .rights import allowed_actions, conditional_actions, project_role
from .selectors import users_named_in


class ProjectSerializer(StrictModelSerializer):
    url = DetailUrlField("project-detail", "key")
    created_by = UserSummarySerializer(read_only=True, allow_null=True)  # null once deleted
    role = serializers.SerializerMethodField(
        help_text="The caller's role here (site admins act as owners; null if none)."
    )

    class Meta:
        model = Project
        fields = [
            "id",
            "url",
            "key",
            "name",
            "description",
            "visibility",
            "role",
            "created_by",
            "created_at",
            "updated_at",
            "archived_at",
        ]
        read_only_fields = ["id", "created_by", "created_at", "updated_at", "archived_at"]

    def get_role(self, project) -> str | None:
        return caller_role(project, self.context.get("request"))

    def to_representation(self, project):
        return project_data(project, self.context.get("request"))  # projects/representation.py

    def validate_key(self, value):
        if self.instance is not None and value != self.instance.key:
            raise serializers.ValidationError("A project's key cannot be changed.")
        return value


class ProjectPermissionsSerializer(serializers.Serializer):
    role = serializers.SerializerMethodField(
        help_text="The caller's role here (site admins act as owners; null if none)."
    )
    actions = serializers.SerializerMethodField(
        help_text="Actions the caller may take on anything in the project now."
    )
    conditional_actions = serializers.SerializerMethodField(
        help_text="Actions the caller may take only on some objects, each with the relations "
        "that allow it there: `reporter` (issues they reported), `assignee` (issues assigned "
        "to them), `not_assignee` (issues not assigned to them), `author` (their comments), "
        "`self` (their own membership)."
    )

    def get_role(self, project) -> str | None:
        role = project_role(self.context["request"].user, project)
        return role.label if role is not None else None

    def get_actions(self, project) -> list[str]:
        return allowed_actions(Caller.of(self.context["request"]), project)

    def get_conditional_actions(self, project) -> dict[str, list[str]]:
        return conditional_actions(Caller.of(self.context["request"]), project)


class MembershipSerializer(serializers.ModelSerializer):
    url = DetailUrlField("member-detail", "project.key", "user.username")
    user = UserSummarySerializer(read_only=True)
    role = RankChoiceField(Role)

    class Meta:
        model = Membership
        fields = ["url", "user", "role", "created_at"]
        read_only_fields = ["user", "created_at"]

    def to_representation(self, membership):
        return membership_data(membership, self.context.get("request"))  # representation.py


class MembershipRoleSerializer(serializers.Serializer):
    """A membership's PATCH body: the new role, required (a PATCH without one is a 400)."""

    role = RankChoiceField(Role)


class MembershipCreateSerializer(serializers.Serializer):
    username = StrictCharField()
    role = RankChoiceField(Role)

    def validate_username(self, value):
        users = users_named_in(self.context["project"])  # the view's project
        user = users.filter(username__iexact=value, is_active=True).first()
        if user is None:
            raise serializers.ValidationError(f"No active user is named {value!r}.")
        return user


class BotCreateSerializer(serializers.Serializer):
    name = StrictCharField(
        max_length=30,
        validators=[
            RegexValidator(
                r"^[a-z0-9][a-z0-9-]*\Z", "Use lower-case letters, digits and hyphens only."
            )
        ],
        help_text="The bot's username is `<project key>-<name>+bot` (lower-case).",
    )
    role = RankChoiceField(Role, help_text="Any role but owner.")


class BotTokenCreateSerializer(PersonalAccessTokenCreateSerializer):
    """A bot's token is always limited to the bot's project."""

    projects = None
