"""Test and benchmark data for notifications (factory-boy)."""

import factory
from django.utils import timezone

from accounts.factories import UserFactory
from issues.factories import IssueFactory

from .models import IssueSubscription, ProjectSubscription, Reason, Thread


class IssueSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IssueSubscription

    user = factory.SubFactory(UserFactory)
    issue = factory.SubFactory(IssueFactory)
    state = IssueSubscription.State.WATCHING


class ProjectSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProjectSubscription

    user = factory.SubFactory(UserFactory)
    project = factory.SubFactory("projects.factories.ProjectFactory")
    level = ProjectSubscription.Level.ALL


class ThreadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Thread

    user = factory.SubFactory(UserFactory)
    issue = factory.SubFactory(IssueFactory)
    project = factory.LazyAttribute(lambda thread: thread.issue.project)
    reason = Reason.SUBSCRIBED
    updated_at = factory.LazyFunction(timezone.now)
