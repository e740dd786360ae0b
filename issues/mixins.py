"""View building blocks for resources that live under an issue (/issues/{issue_key}/...),
shared by every app's views (they import this, never another app's views)."""

from accounts.callers import Caller

from .models import Issue
from .selectors import issue_get_visible


class IssueScopedMixin:
    """Loads the issue of the URL once (404 if the caller cannot see it); its project is
    the one the rights are checked in."""

    def get_issue(self) -> Issue:
        if not hasattr(self, "_issue"):
            self._issue = issue_get_visible(
                Caller.of(self.request), self.kwargs["issue_key"], labels=False
            )
        return self._issue

    def get_project(self):
        return self.get_issue().project
