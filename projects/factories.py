"""Test and demo data for projects (factory-boy)."""

import factory

from accounts.factories import UserFactory

from .models import Membership, Project, Role


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    key = factory.Sequence(lambda n: f"P{n:03d}")
    name = factory.Faker("catch_phrase")
    description = factory.Faker("paragraph")
    visibility = Project.Visibility.PRIVATE
    created_by = factory.SubFactory(UserFactory)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.VIEWER
