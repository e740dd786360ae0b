"""Test and demo data for issues and labels (factory-boy)."""

import factory
from django.db.models import F

from accounts.factories import UserFactory
from projects.factories import ProjectFactory
from projects.models import Project

from .models import Issue, Label


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Label

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"label-{n}")
    color = "#1F883D"


class IssueFactory(factory.django.DjangoModelFactory):
    """An issue numbered like the service numbers them, in any status (bypassing the
    workflow: set-up for tests; the product moves status through issue_transition)."""

    class Meta:
        model = Issue

    project = factory.SubFactory(ProjectFactory)
    title = factory.Faker("sentence", nb_words=6)
    description = factory.Faker("paragraph")
    reporter = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        project = kwargs["project"]
        Project.objects.filter(pk=project.pk).update(last_issue_number=F("last_issue_number") + 1)
        kwargs["number"] = Project.objects.values_list("last_issue_number", flat=True).get(
            pk=project.pk
        )
        # The protected status field may be set once, when the issue is constructed.
        return super()._create(model_class, *args, **kwargs)
