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
