"""The conventions DEVELOPERS.md states that a reviewer would otherwise have to grep for."""

import re
from pathlib import Path

from django.conf import settings

APPS = ["accounts", "api", "comments", "config", "demo", "events", "issues", "projects"]
APPS += ["webhooks"]


def app_modules():
    """Every module of the apps' code (migrations are history, not code to follow)."""
    for app in APPS:
        for path in sorted((Path(settings.BASE_DIR) / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(settings.BASE_DIR), path.read_text()


def test_only_services_and_selectors_open_transactions_and_take_row_locks():
    """A write owns its lock and its precondition: views, the admin, commands and tasks
    call services, which open the transaction and lock (api/versions.py, the lock itself)."""
    found = [
        f"{path}: {match.group(0)}"
        for path, text in app_modules()
        if path.name not in ("services.py", "selectors.py") and str(path) != "api/versions.py"
        for match in re.finditer(r"transaction\.atomic|select_for_update|\block(ed)?=", text)
    ]
    assert found == []


def test_which_right_an_action_takes_is_declared_not_coded():
    """Views declare `rights = {action: right}` (read by HasRights / HasSiteRights): no
    view picks its permissions by action or method in code."""
    found = [
        str(path)
        for path, text in app_modules()
        if re.search(r"def get_permissions|def action_for|rights_by_action", text)
        and path.name != "permissions.py"
    ]
    assert found == []


def test_a_tokens_limits_travel_on_the_request_not_the_user():
    """A personal access token's scopes and projects are read from `request.auth` (through
    accounts.callers.Caller), never from attributes added to the user."""
    found = [
        f"{path}: {match.group(0)}"
        for path, text in app_modules()
        for match in re.finditer(r"token_scopes|token_project_ids", text)
    ]
    assert found == []


def test_services_and_selectors_do_not_import_serializers():
    """One representation per resource: services build event payloads, and selectors read
    rows, with the app's representation.py, never with the API's serializers."""
    found = [
        f"{path}: {match.group(0)}"
        for path, text in app_modules()
        if path.name in ("services.py", "selectors.py", "outbox.py")
        for match in re.finditer(r"^(from|import) \S*serializers.*$", text, re.MULTILINE)
    ]
    assert found == []


# What decides what a caller may see or do: given `request.user`, a personal access
# token's limits would be dropped.
DECIDES = (
    "visible_to|projects_visible|project_get_visible|visible_project_ids|issues_visible"
    "|issue_get_visible|issues_by_key|issues_listed|refusal|can|allowed_actions"
    "|conditional_actions|scope_granted|site_refusal|issue_available_transitions"
)


def test_visibility_and_rights_are_asked_for_the_caller_not_the_user():
    """Views pass `Caller.of(request)` (the user and their token's limits) to what decides
    visibility and rights, never `request.user` (accounts/callers.py)."""
    user = r"(self\.)?(context\[\"request\"\]|request)\.user\b"
    patterns = [
        rf"\b({DECIDES})\(\s*{user}",  # the caller, first
        rf"\b(issue_transition|issue_available_transitions)\([^)]*\buser={user}",
        rf"\bpat_create\([^)]*\bactor={user}",
    ]
    found = [
        f"{path}: {match.group(0)}"
        for path, text in app_modules()
        # The admin's operators sign in with a password: the user is the whole caller.
        if path.name != "admin.py"
        for pattern in patterns
        for match in re.finditer(pattern, text)
    ]
    assert found == []
