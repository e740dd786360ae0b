"""The factories live in the apps (the demo data command ships them); tests import them here."""

from accounts.factories import DEFAULT_PASSWORD, UserFactory
from comments.factories import CommentFactory
from issues.factories import IssueFactory, LabelFactory
from notifications.factories import (
    IssueSubscriptionFactory,
    ProjectSubscriptionFactory,
    ThreadFactory,
)
from projects.factories import MembershipFactory, ProjectFactory

__all__ = [
    "DEFAULT_PASSWORD",
    "CommentFactory",
    "IssueFactory",
    "IssueSubscriptionFactory",
    "LabelFactory",
    "MembershipFactory",
    "ProjectFactory",
    "ProjectSubscriptionFactory",
    "ThreadFactory",
    "UserFactory",
]
