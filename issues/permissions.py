"""Issue and label rules beyond the project role classes; one rule each."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from projects.models import Role
from projects.permissions import project_of
from projects.roles import has_role

# What a reporter may change on an issue they reported.
REPORTER_EDITABLE = {"title", "description"}


def _data(request) -> dict:
    return request.data if hasattr(request.data, "keys") else {}


def _fields(request) -> set[str]:
    return set(_data(request).keys())


class CanEditIssue(BasePermission):
    """Developers and above edit any issue; its reporter edits its title and description."""

    message = "You may only change the title and description of issues you reported."

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS or has_role(request.user, obj.project, Role.DEVELOPER):
            return True
        return (
            obj.reporter_id == request.user.pk
            and has_role(request.user, obj.project, Role.REPORTER)
            and _fields(request) <= REPORTER_EDITABLE
        )


class CanAssignOnCreate(BasePermission):
    """Only developers and above choose an assignee when creating an issue."""

    message = "Only developers and above can assign issues."

    def has_permission(self, request, view):
        if request.method != "POST" or not _data(request).get("assignee"):
            return True
        project = project_of(view)
        return project is None or has_role(request.user, project, Role.DEVELOPER)

    def has_object_permission(self, request, view, obj):
        if request.method != "POST" or not _data(request).get("assignee"):
            return True
        return has_role(request.user, project_of(view, obj), Role.DEVELOPER)
