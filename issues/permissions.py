"""Which right of the table (projects/rights.py) an issue request asks for."""

from projects.permissions import CanDo

# What a reporter may change on an issue they reported (the `edit_issue_text` right).
REPORTER_EDITABLE = {"title", "description"}


def _data(request) -> dict:
    return request.data if hasattr(request.data, "keys") else {}


class CanEditIssue(CanDo):
    """A PATCH of the title and description alone takes `edit_issue_text`, which an
    issue's reporter has; changing anything else takes `edit_issue`."""

    action = "edit_issue"

    def action_for(self, request, obj=None) -> str:
        return "edit_issue_text" if set(_data(request)) <= REPORTER_EDITABLE else "edit_issue"


class CanCreateIssue(CanDo):
    """Creating takes `create_issue`; choosing its assignee as well takes `assign_issue`."""

    action = "create_issue"

    def action_for(self, request, obj=None) -> str:
        return "assign_issue" if _data(request).get("assignee") else "create_issue"
