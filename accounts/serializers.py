from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.fields import StrictCharField, StrictEmailField, StrictModelSerializer

from .models import BOT_SUFFIX, PersonalAccessToken, User
from .pats import SCOPES
from .representation import USER_SUMMARY_FIELDS, user_summary


def _unique_ci(field: str, value: str, message: str, exclude: User | None = None) -> str:
    others = User.objects.filter(**{f"{field}__iexact": value})
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        raise serializers.ValidationError(message, code="unique")
    return value


class UserSerializer(StrictModelSerializer):
    """The signed-in user's own account; role and flags are read-only."""

    class Meta:
        model = User
        fields = ["id", "username", "email", "display_name", "role", "date_joined"]
        read_only_fields = ["id", "username", "role", "date_joined"]

    def validate_email(self, value):
        return _unique_ci("email", value, "A user with that email already exists.", self.instance)


class RegisterSerializer(StrictModelSerializer):
    password = StrictCharField(write_only=True, style={"input_type": "password"})

    class Meta:
        model = User
        fields = ["username", "email", "password", "display_name"]
        extra_kwargs = {"email": {"required": True, "allow_blank": False}}

    def validate_username(self, value):
        if value.lower().endswith(BOT_SUFFIX):
            # Bots' names (projects/services.py bot_create): a person cannot pose as one.
            raise serializers.ValidationError(
                f"Usernames ending in {BOT_SUFFIX} are for bots.", code="invalid_username"
            )
        return _unique_ci("username", value, "A user with that username already exists.")

    def validate_email(self, value):
        return _unique_ci("email", value, "A user with that email already exists.")

    def validate(self, attrs):
        candidate = User(username=attrs["username"], email=attrs["email"])
        try:
            validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as e:
            raise serializers.ValidationError({"password": list(e.messages)}) from e
        return attrs


class LoginSerializer(serializers.Serializer):
    """A password and whom it is for: `username` (a username or an email address) or
    `email`; one of them is required (400 naming `username` if neither is given)."""

    # One object with optional fields, not an anyOf of required sets: generated clients
    # make an anyOf an untyped value.
    username = StrictCharField(required=False, help_text="Username or email address.")
    email = StrictEmailField(required=False, help_text="Email address, if no username.")
    password = StrictCharField(style={"input_type": "password"}, trim_whitespace=False)

    def validate(self, attrs):
        login = attrs.get("username") or attrs.get("email")
        if not login:
            raise serializers.ValidationError(
                {"username": "Give a username or an email address."}, code="required"
            )
        attrs["login"] = login
        return attrs


class RefreshTokenSerializer(serializers.Serializer):
    refresh_token = StrictCharField()


class TokenPairSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField(default="Bearer")
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")


class UserSummarySerializer(serializers.ModelSerializer):
    """A user as others see them: no email, no flags; `type` tells bots from people."""

    class Meta:
        model = User
        fields = list(USER_SUMMARY_FIELDS)
        read_only_fields = fields

    def to_representation(self, user):
        return user_summary(user)  # accounts/representation.py


class PersonalAccessTokenSerializer(serializers.ModelSerializer):
    """A personal access token as listed: never its secret, which is not kept."""

    projects = serializers.SerializerMethodField(
        help_text="Keys of the projects the token is limited to; null: every project the "
        "user can see."
    )
    scopes = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = PersonalAccessToken
        fields = [
            "id",
            "name",
            "prefix",
            "scopes",
            "projects",
            "created_at",
            "expires_at",
            "last_used_at",
            "last_used_ip",
        ]
        read_only_fields = fields

    def get_projects(self, token) -> list[str] | None:
        if not token.limited_to_projects:
            return None
        return sorted(project.key for project in token.projects.all())


class PersonalAccessTokenCreatedSerializer(PersonalAccessTokenSerializer):
    """A token just created, with its secret: shown this once."""

    token = serializers.CharField(
        source="secret", help_text="The secret (`trk_…`); it cannot be read again."
    )

    class Meta(PersonalAccessTokenSerializer.Meta):
        fields = [*PersonalAccessTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


@extend_schema_field({"type": "string", "enum": list(SCOPES)})
class ScopeField(StrictCharField):
    """A scope's name: the schema lists them, validate_scopes names any unknown one."""


class PersonalAccessTokenCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100)
    scopes = serializers.ListField(
        child=ScopeField(max_length=32),
        min_length=1,
        max_length=len(SCOPES),
        help_text="What the token may do: " + ", ".join(f"`{scope}`" for scope in SCOPES) + ".",
    )
    projects = serializers.ListField(
        child=StrictCharField(max_length=10),
        required=False,
        min_length=1,
        max_length=100,
        help_text="Limit the token to these projects (keys); without it, every project the "
        "user can see.",
    )
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When the token stops working; null: never."
    )

    def validate_scopes(self, value):
        unknown = sorted(set(value) - SCOPES.keys())
        if unknown:
            raise serializers.ValidationError(
                f"Unknown scopes: {', '.join(unknown)}. Known: {', '.join(SCOPES)}.",
                code="invalid_choice",
            )
        return value

    def validate_projects(self, value):
        """Keys to projects the token's user can see; the others are not named apart from
        keys that do not exist, so the answer tells nothing about hidden projects."""
        keys = {key.upper() for key in value}
        found = list(self.context["visible_projects"].filter(key__in=keys))
        unknown = sorted(keys - {project.key for project in found})
        if unknown:
            raise serializers.ValidationError(
                f"Unknown projects: {', '.join(unknown)}.", code="does_not_exist"
            )
        return found

    def validate_expires_at(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("Give a time in the future.")
        return value
