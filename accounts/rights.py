"""The rights outside any project: the site-level part of the rights table.

projects/rights.py declares what a caller may do in a project (`RIGHTS`: a minimum role,
relations, archived or not, a token scope). What is done outside any project (creating a
project, managing one's personal access tokens, reading or changing one's account,
reading the change feed, signing out) is decided by no role, only by the credentials the
caller signed in with, and is declared here, once: the token scope each action needs,
whether a personal access token may take it at all, or one limited to projects. It sits
in accounts, below projects, because the accounts' own views read it; projects.rights
imports it, so the whole table is read from one place (`SITE_RIGHTS` beside `RIGHTS`).

A view names the right each action takes in its `rights` map, and a permission class
reads it (`accounts.permissions.HasSiteRights`, or `projects.permissions.HasRights` in a
project, which reads both parts).
"""

from dataclasses import dataclass
from typing import NamedTuple

from .callers import as_caller
from .pats import missing_scope_message


class Refusal(NamedTuple):
    message: str
    code: str  # the problem's `code`: permission_denied, missing_scope, project_archived...


@dataclass(frozen=True)
class SiteRight:
    # The personal access token scope it needs (passwords, sessions and JWTs carry all).
    scope: str = "read"
    # Whether a personal access token may take it at all (else: sign in with a password).
    tokens: bool = True
    # Whether a token limited to projects may take it.
    limited_tokens: bool = True
    # What a token that may not take it (`tokens`, `limited_tokens`) is told.
    refusal: str = ""


SITE_RIGHTS: dict[str, SiteRight] = {
    "create_project": SiteRight(
        scope="projects:admin",
        # A new project would be outside the token's projects at once.
        limited_tokens=False,
        refusal="A token limited to projects cannot create projects.",
    ),
    "manage_tokens": SiteRight(scope="tokens:write"),  # list, create and revoke one's own
    "view_account": SiteRight(scope="read"),
    "edit_account": SiteRight(scope="account:write"),  # the display name
    "change_email": SiteRight(
        scope="account:write",
        tokens=False,
        refusal="A personal access token cannot change the email address: "
        "sign in with your password.",
    ),
    "read_events": SiteRight(scope="read"),
    # The inbox, marking it, mail settings (notifications/).
    "notifications": SiteRight(scope="notifications"),
    # A token is revoked (DELETE /me/tokens/{token_id}), not signed out.
    "sign_out": SiteRight(
        tokens=False,
        refusal="A personal access token cannot do this: sign in with your password.",
    ),
}


def site_refusal(caller, action: str) -> Refusal | None:
    """Why `caller` (a Caller, or a user: every right of theirs) may not take the
    site-level `action` now, or None if they may."""
    right, caller = SITE_RIGHTS[action], as_caller(caller)
    if caller.via_token and not right.tokens:
        return Refusal(right.refusal, "token_not_allowed")
    if caller.project_ids is not None and not right.limited_tokens:
        return Refusal(right.refusal, "token_not_allowed")
    if not caller.has_scope(right.scope):
        return Refusal(missing_scope_message(right.scope), "missing_scope")
    return None
