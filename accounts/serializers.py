from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from config.fields import StrictCharField, StrictEmailField, StrictModelSerializer

from .models import User


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
    username = StrictCharField(required=False, help_text="Username or email address.")
    email = StrictEmailField(required=False)
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
    """A user as others see them: no email, no flags."""

    class Meta:
        model = User
        fields = ["id", "username", "display_name"]
        read_only_fields = fields
