"""DRF permission classes for anything that lives in a project. They decide nothing
themselves: each asks the rights table (rights.py) about one action. Which action a view's
request takes is declared on the view (`rights = {...}`, read by HasRights); the request
decides it only through the small functions below."""

from rest_framework.permissions import BasePermission

from accounts.callers import Caller
from accounts.permissions import HasSiteRights

from .models import Membership, Project, Role
from .rights import RIGHTS, Refusal, refusal


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
        """The action asked about."""
        return self.action

    def allows(self, request, project: Project, action: str, obj=None) -> bool:
        refused = refusal(Caller.of(request), project, action, obj)
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


class CanViewProject(CanDo):
    """May see the project (and so anything in it)."""

    action = "view_project"


class HasRights(HasSiteRights):
    """The rights the view declares for the action (`rights = {"create": "manage_labels"}`;
    accounts/permissions.py says how), project rights and site-level ones alike. Actions
    the map does not name take only `view_project`, which every action in a project takes
    first (CanViewProject). A project right is asked about before the object is known
    (obj=None: may the caller take it on something here?) and again on the object."""

    def project_refusal(self, caller, view, action: str, obj) -> Refusal | None:
        project = project_of(view, obj)
        # No project yet (a route that is not nested): the object check decides.
        return None if project is None else refusal(caller, project, action, obj)


# -- where the request decides which right it takes ----------------------------------------


def _requested_role(request) -> str | None:
    data = request.data if hasattr(request.data, "get") else {}
    return data.get("role")


def membership_right(request, membership: Membership | None = None) -> str | None:
    """Adding, changing or removing a membership: owners' memberships (and making owners)
    take `manage_owners`, others' `manage_members`, and one's own removal `leave_project`."""
    if membership is None and request.method == "DELETE":
        return None  # anyone may leave: only the membership tells which right applies
    if _requested_role(request) == Role.OWNER.label:
        return "manage_owners"
    if membership is None:
        return "manage_members"
    if request.method == "DELETE" and membership.user_id == request.user.pk:
        return "leave_project"
    return "manage_owners" if membership.role == Role.OWNER else "manage_members"
