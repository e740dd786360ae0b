import django_filters as filters
from django.db.models import Q
from rest_framework.exceptions import ValidationError

from accounts.callers import Caller
from api.filters import NamedMultipleChoiceFilter
from events.models import Event
from projects.models import Project

# `issue.*` and the like: every type of one resource.
PREFIXES = sorted({f"{value.split('.')[0]}.*" for value in Event.Type.values})


class EventFilter(filters.FilterSet):
    project = filters.CharFilter(method="filter_project", help_text="A project's key.")
    type = NamedMultipleChoiceFilter(
        choices=[(value, value) for value in [*Event.Type.values, *PREFIXES]],
        method="filter_type",
        help_text="An event type, or `<resource>.*` for all of one resource's; repeat for "
        "any of several.",
    )
    bulk_id = filters.UUIDFilter(help_text="Only the events of one batch (an import).")

    class Meta:
        model = Event
        fields = []

    def filter_project(self, queryset, name, value):
        # A project the caller cannot see is as unknown as one that does not exist.
        visible = Project.objects.visible_to(Caller.of(self.request))
        project = visible.filter(key=value.upper()).first()
        if project is None:
            raise ValidationError({name: f"No project with key {value!r}."})
        return queryset.filter(project=project)

    def filter_type(self, queryset, name, values):
        exact = [value for value in values if not value.endswith(".*")]
        match = Q(type__in=exact)
        for value in values:
            if value.endswith(".*"):
                match |= Q(type__startswith=value[:-1])
        return queryset.filter(match)
