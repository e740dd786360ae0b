"""What a personal access token may do outside projects; one rule each.

A caller signed in with a password (JWT or session) has no `token_scopes` and passes every
check here; inside projects, the rights table (projects/rights.py) checks each action's
scope.
"""

from rest_framework.permissions import BasePermission

from .pats import missing_scope_message, scope_granted


class TokenHasScope(BasePermission):
    """A personal access token holds `scope` (anything else passes)."""

    scope = ""
    code = "missing_scope"  # as the rights table's refusals

    def __init__(self):
        self.message = missing_scope_message(self.scope)

    def has_permission(self, request, view):
        return scope_granted(request.user, self.scope)


class TokenCanCreateProjects(TokenHasScope):
    """`projects:admin`, on a token not limited to projects (a new one would be outside)."""

    scope = "projects:admin"

    def has_permission(self, request, view):
        if getattr(request.user, "token_project_ids", None) is not None:
            self.message = "A token limited to projects cannot create projects."
            self.code = "token_not_allowed"
            return False
        return super().has_permission(request, view)


class TokenCanWriteAccount(TokenHasScope):
    """May change the user's profile."""

    scope = "account:write"


class TokenCanWriteTokens(TokenHasScope):
    """May list, create and revoke personal access tokens."""

    scope = "tokens:write"


class TokenCanWriteMembers(TokenHasScope):
    """May manage members and bots."""

    scope = "members:write"


class TokenCanNotifications(TokenHasScope):
    """May read and mark the user's notifications and change their settings."""

    scope = "notifications"


class IsNotPersonalAccessToken(BasePermission):
    """Signed in with a password, not a personal access token (logout, sessions)."""

    message = "A personal access token cannot do this: sign in with your password."
    code = "token_not_allowed"

    def has_permission(self, request, view):
        return getattr(request.user, "token_scopes", None) is None


class TokenKeepsEmail(BasePermission):
    """A personal access token never changes the account's email (no scope allows it)."""

    message = (
        "A personal access token cannot change the email address: sign in with your password."
    )
    code = "token_not_allowed"

    def has_permission(self, request, view):
        data = request.data if hasattr(request.data, "keys") else {}
        return getattr(request.user, "token_scopes", None) is None or "email" not in data
