"""View building blocks for resources that live under a project, shared by every app's
views (they import this, never another app's views)."""

from accounts.callers import Caller

from .models import Project
from .selectors import project_get_visible


class ProjectScopedMixin:
    """For resources under /projects/{project_key}/: loads the project once, 404 if hidden."""

    def get_project(self) -> Project:
        if not hasattr(self, "_project"):
            self._project = project_get_visible(
                Caller.of(self.request), self.kwargs["project_key"]
            )
        return self._project
