from django.contrib.auth import get_user_model
from rest_framework import serializers

from accounts.serializers import UserSummarySerializer
from config.fields import RankChoiceField, StrictCharField, StrictModelSerializer

from .models import Membership, Project, Role
from .roles import allowed_actions, project_role


class ProjectSerializer(StrictModelSerializer):
    created_by = UserSummarySerializer(read_only=True, allow_null=True)  # null once deleted
    role = serializers.SerializerMethodField(
        help_text="The caller's role here (site admins act as owners; null if none)."
    )

    class Meta:
        model = Project
        fields = [
            "id",
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
        role = project_role(self.context["request"].user, project)
        return role.label if role is not None else None

    def validate_key(self, value):
        if self.instance is not None and value != self.instance.key:
            raise serializers.ValidationError("A project's key cannot be changed.")
        return value


class ProjectPermissionsSerializer(serializers.Serializer):
    role = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    def get_role(self, project) -> str | None:
        role = project_role(self.context["request"].user, project)
        return role.label if role is not None else None

    def get_actions(self, project) -> list[str]:
        return allowed_actions(self.context["request"].user, project)


class MembershipSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)
    role = RankChoiceField(Role)

    class Meta:
        model = Membership
        fields = ["user", "role", "created_at"]
        read_only_fields = ["user", "created_at"]


class MembershipRoleSerializer(serializers.Serializer):
    """A membership's PATCH body: the new role, required (a PATCH without one is a 400)."""

    role = RankChoiceField(Role)


class MembershipCreateSerializer(serializers.Serializer):
    username = StrictCharField()
    role = RankChoiceField(Role)

    def validate_username(self, value):
        user = get_user_model().objects.filter(username__iexact=value, is_active=True).first()
        if user is None:
            raise serializers.ValidationError(f"No active user is named {value!r}.")
        return user
