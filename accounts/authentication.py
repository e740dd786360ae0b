from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import (
    AuthenticationFailed,
    ExpiredTokenError,
    InvalidToken,
    TokenError,
)
from rest_framework_simplejwt.settings import api_settings

from api.clients import client_ip

from . import pats
from .blocklist import access_token_lookup, remember_user
from .tokens import AccessToken

# What a client is told when its bearer token is refused (simplejwt's own words, "Given
# token not valid for any token type", do not say what to do about it).
MALFORMED = (
    "The bearer token is malformed: send the access_token from POST /api/v1/auth/login "
    "(a JWT of three dot-separated parts)."
)
EXPIRED = (
    "The access token has expired: get a new pair from POST /api/v1/auth/refresh, "
    "or log in again."
)
WRONG_TYPE = "This is not an access token: send the access_token, not the refresh_token."
REFUSED = (
    "The access token was not accepted: its signature, issuer, audience or signing key "
    "is not one this service trusts."
)


def refusal(raw_token: bytes, error: TokenError) -> str:
    if isinstance(error, ExpiredTokenError):
        return EXPIRED
    if raw_token.count(b".") != 2:
        return MALFORMED
    if "wrong type" in str(error) or "no type" in str(error):
        return WRONG_TYPE
    return REFUSED


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

    def get_validated_token(self, raw_token):
        try:
            return AccessToken(raw_token)
        except TokenError as e:
            raise InvalidToken({"detail": refusal(raw_token, e), "code": "token_not_valid"}) from e


class PersonalAccessTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer trk_…`: a personal access token (accounts/pats.py). Other
    bearer tokens are left to JWTAuthentication, so the prefix decides, with no lookup."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != b"bearer":
            return None
        if not parts[1].startswith(pats.PREFIX.encode()):
            return None
        try:
            return pats.pat_authenticate(secret=parts[1].decode(), ip=client_ip(request))
        except UnicodeDecodeError:
            raise AuthenticationFailed(pats.MALFORMED, code="token_not_valid") from None
        except pats.TokenRefused as e:
            raise AuthenticationFailed(e.message, code=e.code) from e

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
