"""Conditions and permission callables of the issue workflow.

Conditions are rules about the issue alone, each with the message a refused caller reads.
Who may take a transition is the rights table's business (projects/rights.py): `right`
turns one of its actions into the callable django-fsm asks. The transitions that use
them are declared on `Issue` in models.py.
"""

from projects.rights import can


class Condition:
    """A rule the issue must meet before a transition, with its explanation."""

    def __init__(self, test, message: str):
        self.test = test
        self.message = message

    def __call__(self, issue) -> bool:
        return self.test(issue)


has_assignee = Condition(
    lambda issue: issue.assignee_id is not None, "The issue must have an assignee."
)


def right(action: str):
    """The FSM permission callable for one action of the rights table. django-fsm hands it
    whoever asks (`has_transition_perm(method, caller)`): a Caller (accounts/callers.py),
    so a personal access token's scopes count, or a plain user."""

    def permission(issue, caller) -> bool:
        return can(caller, issue.project, action, issue)

    permission.action = action
    return permission
