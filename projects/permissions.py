"""DRF permission classes for anything that lives in a project. They decide nothing
themselves: each asks the rights table (rights.py) about one action."""

from rest_framework.permissions import BasePermission

from .models import Membership, Project, Role
from .rights import RIGHTS, refusal


def project_of(view, obj=None) -> Project | None:
    """The project a request is about: the object's, or the one a nested view loaded."""
    if obj is not None:
        if isinstance(obj, Project):
            return obj
        return obj.project if hasattr(obj, "project") else obj.issue.project
    get_project = getattr(view, "get_project", None)
    return get_project() if get_project else None


class CanDo(BasePermission):
    """The caller may take `action` here, as the rights table says. Views make an instance
    per request, so the refusal it reports (message and code) is the one that applied."""

    action: str = ""

    def __init__(self, action: str = ""):
        self.action = action or self.action
        self.message = RIGHTS[self.action].refusal
        self.code = "permission_denied"

    def action_for(self, request, obj=None) -> str:
        """The action asked about; subclasses choose it from the request and object."""
        return self.action

    def allows(self, request, project: Project, action: str, obj=None) -> bool:
        refused = refusal(request.user, project, action, obj)
        if refused is not None:
            self.message, self.code = refused
        return refused is None

    def has_permission(self, request, view):
        # On a nested route the project is known before the object: refuse here only what
        # no object could allow (obj=None asks about "something"); the object check
        # decides the rest.
        project = project_of(view)
        return project is None or self.allows(request, project, self.action_for(request))

    def has_object_permission(self, request, view, obj):
        return self.allows(request, project_of(view, obj), self.action_for(request, obj), obj)


class HasRights(CanDo):
    """The right the view's action takes, as the view declares it (DRF's `perms_map`,
    Sentry's `scope_map`): `rights = {"create": "manage_labels", ...}`. A value is a right's
    name, or a function `(request, obj) -> name` where the request decides (obj is None
    before the object is known). Actions the map does not name take only `view_project`,
    which every action in a project takes first (CanViewProject)."""

    def __init__(self):
        self.message, self.code = "", "permission_denied"

    def right_for(self, request, view, obj=None) -> str | None:
        declared = getattr(view, "rights", {}).get(getattr(view, "action", None))
        return declared(request, obj) if callable(declared) else declared

    def has_permission(self, request, view):
        project = project_of(view)
        action = self.right_for(request, view)
        return action is None or project is None or self.allows(request, project, action)

    def has_object_permission(self, request, view, obj):
        action = self.right_for(request, view, obj)
        return action is None or self.allows(request, project_of(view, obj), action, obj)


class CanViewProject(CanDo):
    """May see the project (and so anything in it)."""

    action = "view_project"


def _requested_role(request) -> str | None:
    data = request.data if hasattr(request.data, "get") else {}
    return data.get("role")


class CanManageMembership(CanDo):
    """Adding, changing or removing a membership: owners' memberships (and making owners)
    take `manage_owners`, others' `manage_members`, and one's own removal `leave_project`."""

    action = "manage_members"

    def action_for(self, request, obj: Membership | None = None) -> str:
        if _requested_role(request) == Role.OWNER.label:
            return "manage_owners"
        if obj is None:
            return "manage_members"
        if request.method == "DELETE" and obj.user_id == request.user.pk:
            return "leave_project"
        return "manage_owners" if obj.role == Role.OWNER else "manage_members"

    def has_permission(self, request, view):
        project = project_of(view)
        if project is None or request.method == "DELETE":
            # Anyone may leave: only the membership itself tells which right applies.
            return True
        return self.allows(request, project, self.action_for(request))
