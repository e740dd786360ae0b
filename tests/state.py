"""What "nothing changed" means in a test: every row a write through the API can touch."""

from accounts.models import PersonalAccessToken, TokenEvent, User
from attachments.models import Attachment
from comments.models import Comment
from events.models import Event
from issues.models import Issue, IssueEvent, Label
from notifications.models import (
    IssueSubscription,
    NotificationSettings,
    ProjectSubscription,
    Thread,
)
from projects.models import Membership, Project
from transfers.models import Export, Import, ImportedIssue
from webhooks.models import Delivery, Webhook

MODELS = [User, Project, Membership, Issue, Issue.labels.through, Label, Comment, IssueEvent]
# Notifications (notifications/): what its endpoints change.
MODELS += [IssueSubscription, ProjectSubscription, Thread, NotificationSettings]
# Exports and imports (transfers/).
MODELS += [Export, Import, ImportedIssue]
# Attachments (attachments/).
MODELS += [Attachment]
# Also tokens (whose use is recorded: compare before any request that authenticates with
# one), webhooks and their deliveries, and the outbox.
EVERY_MODEL = [
    *MODELS,
    PersonalAccessToken,
    PersonalAccessToken.projects.through,
    TokenEvent,
    Webhook,
    Delivery,
    Event,
]


def database_state(models=MODELS) -> dict[str, list[dict]]:
    """Every row of every table the API writes, in a comparable form."""
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in models}
