"""OpenAPI descriptions drf-spectacular cannot derive by itself."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiSerializerExtension


class JWTAuthenticationScheme(SimpleJWTScheme):
    """Our JWTAuthentication is simplejwt's bearer scheme with a blocklist check."""

    target_class = "accounts.authentication.JWTAuthentication"


class LoginSerializerExtension(OpenApiSerializerExtension):
    """Login takes a username or an email address: at least one of them is required."""

    target_class = "accounts.serializers.LoginSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["anyOf"] = [{"required": ["username"]}, {"required": ["email"]}]
        return schema
