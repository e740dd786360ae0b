"""What "nothing changed" means in a test: every row a write through the API can touch."""

from accounts.models import User
from comments.models import Comment
from issues.models import Issue, IssueEvent, Label
from notifications.models import (
    IssueSubscription,
    NotificationSettings,
    ProjectSubscription,
    Thread,
)
from projects.models import Membership, Project

MODELS = [User, Project, Membership, Issue, Issue.labels.through, Label, Comment, IssueEvent]
# Notifications (notifications/): what its endpoints change.
MODELS += [IssueSubscription, ProjectSubscription, Thread, NotificationSettings]


def database_state() -> dict[str, list[dict]]:
    """Every row of every table the API writes, in a comparable form."""
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}
