"""Reads of exports and imports that views and the admin share."""

from projects.models import Project

from .models import Export, Import


def exports_visible(user):
    """Exports in projects `user` may see (who may read one is the rights table's say)."""
    projects = Project.objects.visible_to(user).values("pk")
    return Export.objects.filter(project__in=projects).select_related("project", "requested_by")


def imports_visible(user):
    """Imports into projects `user` may see."""
    projects = Project.objects.visible_to(user).values("pk")
    return Import.objects.filter(project__in=projects).select_related("project", "requested_by")
