from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings

from .blocklist import access_token_lookup, remember_user


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's bearer authentication, refusing access tokens revoked at logout. With
    Redis, one round trip answers both the blocklist and the user (see blocklist.py)."""

    def authenticate(self, request):
        header = self.get_header(request)
        raw_token = None if header is None else self.get_raw_token(header)
        if raw_token is None:
            return None
        token = self.get_validated_token(raw_token)
        revoked, user = access_token_lookup(token["jti"], token.get(api_settings.USER_ID_CLAIM))
        if revoked:
            raise InvalidToken({"detail": "Token has been revoked.", "code": "token_revoked"})
        if user is None:
            user = self.get_user(token)  # the database; refuses unknown and inactive users
            remember_user(user)
        elif not user.is_active:  # a copy cached before a change that bypassed the model
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        return user, token
