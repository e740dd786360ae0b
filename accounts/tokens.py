"""RS256 tokens: signing with a `kid`, verification against the trusted keyring."""

from functools import lru_cache

import jwt
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ["exp", "iat", "jti", "sub", "iss", "aud", "token_type"]


class KeyringTokenBackend(TokenBackend):
    """Signs with the current key; verifies with whichever trusted key the `kid` names."""

    def __init__(self, keys):
        super().__init__(
            ALGORITHM,
            signing_key=keys.private_pem,
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
        )
        self.keys = keys
        self._verifying = {
            kid: jwt.PyJWS().get_algorithm_by_name(ALGORITHM).prepare_key(pem)
            for kid, pem in keys.verifying_keys.items()
        }

    def encode(self, payload):
        claims = {**payload, "aud": self.audience, "iss": self.issuer}
        return jwt.encode(
            claims,
            self.prepared_signing_key,
            algorithm=ALGORITHM,
            headers={"kid": self.keys.current_kid},
        )

    def decode(self, token, verify=True):
        if not verify:
            raise TokenBackendError("Unverified decoding is not supported")
        try:
            header = jwt.get_unverified_header(token)
            key = self._verifying.get(header.get("kid"))
            if key is None:
                raise TokenBackendError("Token is signed with an unknown key")
            return jwt.decode(
                token,
                key,
                # Pinned: the header's "alg" never chooses the algorithm.
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as e:
            raise TokenBackendExpiredToken("Token is expired") from e
        except jwt.InvalidTokenError as e:
            raise TokenBackendError("Token is invalid") from e


@lru_cache(maxsize=1)
def token_backend() -> KeyringTokenBackend:
    return KeyringTokenBackend(settings.SIGNING_KEYS)


@receiver(setting_changed)
def _reset_backend(*, setting, **kwargs):
    if setting in {"SIGNING_KEYS", "JWT_ISSUER", "JWT_AUDIENCE"}:
        token_backend.cache_clear()


class KeyringTokenMixin:
    @property
    def token_backend(self):
        return token_backend()

    def get_token_backend(self):
        return token_backend()


class AccessToken(KeyringTokenMixin, tokens.AccessToken):
    @property
    def lifetime(self):
        return settings.ACCESS_TOKEN_LIFETIME


class RefreshToken(KeyringTokenMixin, tokens.Token):
    """A refresh token; its `fam` claim names the TokenFamily it belongs to.

    Reuse and revocation are decided by the family (see services), not here.
    """

    token_type = "refresh"  # noqa: S105 - a claim value, not a secret

    @property
    def lifetime(self):
        return settings.REFRESH_TOKEN_LIFETIME

    def verify(self):
        super().verify()
        if "fam" not in self.payload:
            raise tokens.TokenError("Token has no family")
