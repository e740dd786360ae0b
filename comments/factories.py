"""Test and demo data for comments (factory-boy)."""

import factory

from accounts.factories import UserFactory

from .models import Comment


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    # Named by path: comments sit below issues and import nothing from them.
    issue = factory.SubFactory("issues.factories.IssueFactory")
    author = factory.SubFactory(UserFactory)
    body = factory.Faker("paragraph")
