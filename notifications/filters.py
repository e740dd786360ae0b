import re

import django_filters as filters
from rest_framework.exceptions import ValidationError

from accounts.callers import Caller
from api.filters import TRUE_FALSE, NamedChoiceFilter, NamedMultipleChoiceFilter
from projects.models import Project

from .models import Reason, Thread

KEY = re.compile(r"[A-Za-z][A-Za-z0-9]{1,9}")


class ThreadFilter(filters.FilterSet):
    unread = NamedChoiceFilter(
        choices=TRUE_FALSE, method="filter_unread", help_text="true: unread only; false: read."
    )
    reason = NamedMultipleChoiceFilter(
        choices=Reason.choices, distinct=False, help_text="The latest reason; repeat for several."
    )
    project = filters.CharFilter(method="filter_project", help_text="A project's key.")

    class Meta:
        model = Thread
        fields = []

    def filter_unread(self, queryset, name, value):
        return queryset.filter(read_at__isnull=value == "true")

    def filter_project(self, queryset, name, value):
        # A project the caller cannot see is as unknown as one that does not exist.
        project = None
        if KEY.fullmatch(value):
            visible = Project.objects.visible_to(Caller.of(self.request))
            project = visible.filter(key=value.upper()).first()
        if project is None:
            raise ValidationError({name: f"No project with key {value!r}."})
        return queryset.filter(project=project)
