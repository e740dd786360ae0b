"""Which right of the table (projects/rights.py) an issue request takes where the request
body decides; the views declare the rest (`rights = {...}`)."""

# What a reporter may change on an issue they reported (the `edit_issue_text` right).
REPORTER_EDITABLE = {"title", "description"}


def _data(request) -> dict:
    return request.data if hasattr(request.data, "keys") else {}


def edit_right(fields) -> str:
    """Changing the title and description alone takes `edit_issue_text`, which an issue's
    reporter has; changing anything else takes `edit_issue` (a PATCH, a bulk edit). The
    `parent` takes `relate_issues`, which the service asks when other fields come with it."""
    fields = set(fields) - {"parent"}
    if not fields:
        return "relate_issues"
    return "edit_issue_text" if fields <= REPORTER_EDITABLE else "edit_issue"


def edit_issue_right(request, issue=None) -> str:
    return edit_right(_data(request))


def create_issue_right(request, project=None) -> str:
    """Creating takes `create_issue`; choosing its assignee as well takes `assign_issue`
    (which implies it: every role with it is above reporter)."""
    return "assign_issue" if _data(request).get("assignee") else "create_issue"
