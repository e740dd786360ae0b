"""Who is asking: a user, and the limits of the credentials they signed in with.

A password, a session or a JWT carries the user's every right. A personal access token
(accounts/pats.py) carries only its scopes and, when limited, its projects: authentication
hands it over as `request.auth`, and nothing is added to the user. What decides what a
caller may see or do (visibility, the rights table, the workflow's permission callables,
services that check rights) takes a `Caller`, built by the view with `Caller.of(request)`.
The admin, commands and tests pass a plain user, which stands for the user's every right
(`as_caller`).
"""

from dataclasses import dataclass

from .models import PersonalAccessToken


@dataclass(frozen=True)
class Caller:
    """A user and, when they authenticated with one, the personal access token whose
    limits apply."""

    user: object  # accounts.User, or AnonymousUser
    token: PersonalAccessToken | None = None

    @classmethod
    def of(cls, request) -> "Caller":
        """The caller of a request: its user, limited by its token if `request.auth` is a
        personal access token (a JWT's claims limit nothing)."""
        auth = getattr(request, "auth", None)
        return cls(request.user, auth if isinstance(auth, PersonalAccessToken) else None)

    @property
    def via_token(self) -> bool:
        return self.token is not None

    @property
    def scopes(self) -> frozenset[str] | None:
        """The scopes the credentials carry; None: every scope."""
        return None if self.token is None else self.token.scopes_effective

    @property
    def project_ids(self) -> frozenset[int] | None:
        """The only projects the credentials reach; None: every project the user may see."""
        return None if self.token is None else self.token.project_limit

    def has_scope(self, scope: str) -> bool:
        return self.token is None or scope in self.token.scopes_effective


def as_caller(who) -> Caller:
    """`who` as a Caller: a Caller as it is, a user with every right of theirs."""
    return who if isinstance(who, Caller) else Caller(who)


def user_of(who):
    """The user a Caller (or a user) stands for."""
    return who.user if isinstance(who, Caller) else who
