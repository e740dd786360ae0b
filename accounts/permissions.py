"""Which right a view's action takes is data: the view declares it, one class reads it.

A view declares `rights = {action: right, ...}` (as DRF's `DjangoModelPermissions.perms_map`
and Sentry's `scope_map` do). A right is the name of one in the rights table
(accounts/rights.py outside projects, projects/rights.py in them); a value may also be a
function `(request, obj) -> name or None` where the request decides (obj is None before
the object is known; None takes no right), or a tuple of those, all taken, in order. An
action the map does not name takes no right beyond what the view's other permission
classes ask. Views that are not viewsets name their actions by method, as DRF's generic
views do (api.conditional.action_of: GET retrieve, POST create, PATCH partial_update...).
"""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import BasePermission

from api.conditional import action_of

from .callers import Caller
from .rights import SITE_RIGHTS, Refusal, site_refusal


def email_right(request, obj=None) -> str | None:
    """Changing one's email takes `change_email` as well (no token may)."""
    data = request.data if hasattr(request.data, "keys") else {}
    return "change_email" if "email" in data else None


def declared_rights(request, view, obj=None) -> list[str]:
    """The rights `view` declares for the request's action, its functions applied."""
    declared = getattr(view, "rights", {}).get(action_of(view, request.method))
    values = declared if isinstance(declared, tuple) else (declared,)
    names = (value(request, obj) if callable(value) else value for value in values)
    return [name for name in names if name is not None]


class HasSiteRights(BasePermission):
    """The caller may take the rights the view declares for the action (module docstring);
    here only site-level ones, outside projects (projects.permissions.HasRights reads
    both). Views make an instance per request, so the refusal it reports (message and
    code) is the one that applied."""

    def __init__(self):
        self.message, self.code = "", "permission_denied"

    def has_permission(self, request, view):
        return self._allows(request, view, None)

    def has_object_permission(self, request, view, obj):
        return self._allows(request, view, obj)

    def _allows(self, request, view, obj) -> bool:
        caller = Caller.of(request)
        for name in declared_rights(request, view, obj):
            if name in SITE_RIGHTS:
                # Decided by the credentials alone: once, before any object is read.
                refused = site_refusal(caller, name) if obj is None else None
            else:
                refused = self.project_refusal(caller, view, name, obj)
            if refused is not None:
                self.message, self.code = refused
                return False
        return True

    def project_refusal(self, caller, view, action: str, obj) -> Refusal | None:
        raise ImproperlyConfigured(
            f"{action!r} is not a site-level right (accounts/rights.py): a view in a project "
            "reads its rights with projects.permissions.HasRights."
        )
