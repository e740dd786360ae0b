"""Test and demo data for comments (factory-boy)."""

import factory

from accounts.factories import UserFactory
from issues.factories import IssueFactory

from .models import Comment


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    issue = factory.SubFactory(IssueFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Faker("paragraph")
