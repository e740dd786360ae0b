"""Conditions and permission callables of the issue workflow.

Pure functions of the issue (conditions) or of the issue and a user (permissions),
built on the projects app's role helpers. The transitions that use them are
declared on `Issue` in models.py.
"""

from projects.models import Role
from projects.roles import has_role


def has_assignee(issue) -> bool:
    """The issue must have an assignee."""
    return issue.assignee_id is not None


def _is_assignee(issue, user) -> bool:
    return issue.assignee_id is not None and issue.assignee_id == user.pk


def _is_reporter(issue, user) -> bool:
    return issue.reporter_id is not None and issue.reporter_id == user.pk


def _active(issue, user) -> bool:
    return user.is_authenticated and not issue.project.is_archived


def assignee_or_maintainer(issue, user) -> bool:
    """The assignee, or a maintainer or above."""
    return _active(issue, user) and (
        (_is_assignee(issue, user) and has_role(user, issue.project, Role.DEVELOPER))
        or has_role(user, issue.project, Role.MAINTAINER)
    )


def assignee_only(issue, user) -> bool:
    """The assignee (site admins too)."""
    return _active(issue, user) and (
        (_is_assignee(issue, user) and has_role(user, issue.project, Role.DEVELOPER))
        or user.is_site_admin
    )


def reviewer(issue, user) -> bool:
    """A developer or above other than the assignee, or a maintainer or above."""
    return _active(issue, user) and (
        has_role(user, issue.project, Role.MAINTAINER)
        or (not _is_assignee(issue, user) and has_role(user, issue.project, Role.DEVELOPER))
    )


def reporter_or_maintainer(issue, user) -> bool:
    """The issue's reporter, or a maintainer or above."""
    return _active(issue, user) and (
        (_is_reporter(issue, user) and has_role(user, issue.project, Role.REPORTER))
        or has_role(user, issue.project, Role.MAINTAINER)
    )


def reporter_or_developer(issue, user) -> bool:
    """The issue's reporter, or a developer or above."""
    return _active(issue, user) and (
        (_is_reporter(issue, user) and has_role(user, issue.project, Role.REPORTER))
        or has_role(user, issue.project, Role.DEVELOPER)
    )
