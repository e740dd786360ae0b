import django_filters as filters

from api.filters import TRUE_FALSE, NamedChoiceFilter, NamedMultipleChoiceFilter

from .models import Membership, Project, Role

ROLE_NAMES = [(role.label, role.label) for role in Role]


class ProjectFilter(filters.FilterSet):
    visibility = NamedChoiceFilter(choices=Project.Visibility.choices)
    role = NamedChoiceFilter(
        choices=ROLE_NAMES,
        method="filter_role",
        help_text="Only projects where the caller's role is at least this one.",
    )
    archived = NamedChoiceFilter(
        choices=TRUE_FALSE,
        method="filter_archived",
        help_text="true: only archived projects; false (the default): only active ones.",
    )

    class Meta:
        model = Project
        fields = []

    def filter_role(self, queryset, name, value):
        minimum = Role.from_name(value)
        if minimum == Role.VIEWER or self.request.user.is_site_admin:
            return queryset  # every visible project grants at least viewer rights
        return queryset.filter(member_role__gte=minimum)

    def filter_archived(self, queryset, name, value):
        return queryset.filter(archived_at__isnull=value == "false")

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("archived"):
            queryset = queryset.filter(archived_at__isnull=True)
        return queryset


class MembershipFilter(filters.FilterSet):
    role = NamedMultipleChoiceFilter(
        choices=ROLE_NAMES, method="filter_role", help_text="Repeat for several."
    )

    class Meta:
        model = Membership
        fields = []

    def filter_role(self, queryset, name, value: list[str]):
        # The hint on `value` tells the schema these are names, though roles are stored as ranks.
        return queryset.filter(role__in=[Role.from_name(v) for v in value])
