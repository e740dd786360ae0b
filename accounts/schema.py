"""OpenAPI descriptions drf-spectacular cannot derive by itself."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class JWTAuthenticationScheme(SimpleJWTScheme):
    """Our JWTAuthentication is simplejwt's bearer scheme with a blocklist check."""

    target_class = "accounts.authentication.JWTAuthentication"


class PersonalAccessTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer trk_…`, a personal access token limited by scopes."""

    target_class = "accounts.authentication.PersonalAccessTokenAuthentication"
    name = "personalAccessToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal access token (`trk_…`) from POST /api/v1/me/tokens; "
            "it may do what its scopes allow, in the projects it is limited to.",
        }
