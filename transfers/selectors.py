"""Reads of exports and imports that views and the admin share."""

from projects.models import Project

from .models import Export, Import


def exports_visible(caller):
    """Exports in projects `caller` (a Caller, or a user) may see (who may read one is the
    rights table's say)."""
    projects = Project.objects.visible_to(caller).values("pk")
    return Export.objects.filter(project__in=projects).select_related("project", "requested_by")


def imports_visible(caller):
    """Imports into projects `caller` (a Caller, or a user) may see."""
    projects = Project.objects.visible_to(caller).values("pk")
    return Import.objects.filter(project__in=projects).select_related("project", "requested_by")
