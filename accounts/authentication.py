from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import InvalidToken

from .blocklist import access_token_is_revoked


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's bearer authentication, refusing access tokens revoked at logout."""

    def get_validated_token(self, raw_token):
        token = super().get_validated_token(raw_token)
        if access_token_is_revoked(token["jti"]):
            raise InvalidToken({"detail": "Token has been revoked.", "code": "token_revoked"})
        return token
