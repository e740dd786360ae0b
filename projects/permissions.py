"""DRF permission classes for anything that lives in a project; one rule each."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import Project, Role
from .roles import has_role, member_role


def project_of(view, obj=None) -> Project | None:
    """The project a request is about: the object's, or the one a nested view loaded."""
    if obj is not None:
        if isinstance(obj, Project):
            return obj
        return obj.project if hasattr(obj, "project") else obj.issue.project
    get_project = getattr(view, "get_project", None)
    return get_project() if get_project else None


class ProjectRolePermission(BasePermission):
    """The caller's role in the project is at least `minimum`."""

    minimum = Role.VIEWER

    def has_permission(self, request, view):
        project = project_of(view)
        return project is None or has_role(request.user, project, self.minimum)

    def has_object_permission(self, request, view, obj):
        return has_role(request.user, project_of(view, obj), self.minimum)


class IsProjectViewer(ProjectRolePermission):
    """May see the project."""

    minimum = Role.VIEWER


class IsProjectReporter(ProjectRolePermission):
    """May create issues and comment."""

    minimum = Role.REPORTER


class IsProjectMaintainer(ProjectRolePermission):
    """May manage the project's settings, labels and members below owner."""

    minimum = Role.MAINTAINER


class IsProjectOwner(ProjectRolePermission):
    """May manage owners, archive and delete the project."""

    minimum = Role.OWNER


class IsProjectActive(BasePermission):
    """Archived projects are read-only."""

    message = "This project is archived and read-only."
    code = "project_archived"

    def has_permission(self, request, view):
        project = project_of(view)
        return request.method in SAFE_METHODS or project is None or not project.is_archived

    def has_object_permission(self, request, view, obj):
        return request.method in SAFE_METHODS or not project_of(view, obj).is_archived


class CanManageTargetMember(BasePermission):
    """Only owners may change or remove an owner's membership."""

    message = "Only owners can change or remove owners."

    def has_object_permission(self, request, view, obj):
        return obj.role != Role.OWNER or has_role(request.user, obj.project, Role.OWNER)


class CanGrantRequestedRole(BasePermission):
    """Only owners may make someone an owner."""

    message = "Only owners can make owners."

    def has_permission(self, request, view):
        data = request.data if hasattr(request.data, "get") else {}
        if request.method in SAFE_METHODS or data.get("role") != Role.OWNER.label:
            return True
        return has_role(request.user, project_of(view), Role.OWNER)


class IsMembershipSelf(BasePermission):
    """The membership is the caller's own (anyone may leave a project)."""

    def has_object_permission(self, request, view, obj):
        return obj.user_id == request.user.pk and member_role(request.user, obj.project)
