"""The query language of issue and event lists (see the README's "Lists" section)."""

from collections import defaultdict
from functools import reduce
from operator import or_

import django_filters as filters
from django.db import connection
from django.db.models import (
    Case,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import IsNull
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend

from accounts.callers import Caller
from api.fields import NO_NUL
from api.filters import (
    TRUE_FALSE,
    NamedChoiceFilter,
    NamedMultipleChoiceFilter,
    RepeatableCharFilter,
    StrictOrderingFilter,
    UtcIsoDateTimeFilter,
    resolve_user,
)
from projects.models import Project
from projects.selectors import users_known_to

from .models import Issue, IssueEvent, IssueRelation, Label

# With ?search=, an issue whose key is the search text sorts first (IssueSearchFilter
# annotates it); then the caller's ordering.
SEARCH_FIRST = "search_key_match"

# The relevance of a match to ?search= (`ordering=-rank`).
SEARCH_RANK = "rank"
# A search counts its matches exactly up to here, as GitHub's does: past a thousand,
# people refine the words rather than read page 41, and counting a common word's
# quarter of a million matches to 10,000 would cost more than the page.
SEARCH_COUNT_CAP = 1_000

# Annotations some orderings sort on (see IssueListMixin.ordering_fields).
ORDERING_ANNOTATIONS = {
    "status_rank": Case(
        *(When(status=s, then=Value(i)) for i, s in enumerate(Issue.Status.values)),
        output_field=IntegerField(),
    ),
    # Issues without a due date sort after every dated one.
    "due_sort": Coalesce("due_date", Value("9999-12-31"), output_field=Issue.due_date.field),
}


class IssueFilter(filters.FilterSet):
    project = filters.ModelMultipleChoiceFilter(
        to_field_name="key",
        queryset=lambda request: Project.objects.visible_to(Caller.of(request)),
        method="filter_project",
        help_text="Project key; repeat for several.",
    )
    # distinct=False: a column of the issue itself never repeats rows, and SELECT DISTINCT
    # over every column would sort the whole match.
    status = NamedMultipleChoiceFilter(
        choices=Issue.Status.choices, distinct=False, help_text="Repeat for several."
    )
    priority = NamedMultipleChoiceFilter(
        choices=[(p.label, p.label) for p in Issue.Priority],
        method="filter_priority",
        help_text="Repeat for several.",
    )
    type = NamedChoiceFilter(choices=Issue.Type.choices)
    resolution = NamedChoiceFilter(choices=Issue.Resolution.choices)
    assignee = filters.CharFilter(
        method="filter_assignee", help_text="A username, `me`, or `none` (unassigned)."
    )
    reporter = filters.CharFilter(method="filter_reporter", help_text="A username or `me`.")
    label = RepeatableCharFilter(
        method="filter_labels", help_text="Label name; repeat to require all of them."
    )
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = UtcIsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = UtcIsoDateTimeFilter(field_name="updated_at", lookup_expr="lt")
    due_after = filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_before = filters.DateFilter(field_name="due_date", lookup_expr="lte")
    is_open = NamedChoiceFilter(
        choices=TRUE_FALSE,
        method="filter_is_open",
        help_text="true: open, in_progress or in_review; false: resolved or closed.",
    )

    # Relations (issues/relations.py): only those to issues the caller can see count.
    blocked = NamedChoiceFilter(
        choices=TRUE_FALSE, method="filter_blocked", help_text="true: has open blockers."
    )
    has_children = NamedChoiceFilter(
        choices=TRUE_FALSE, method="filter_has_children", help_text="true: has sub-issues."
    )
    parent = filters.CharFilter(
        method="filter_parent", help_text="The sub-issues of this issue (a key, `WEB-3`)."
    )
    related_to = filters.CharFilter(
        method="filter_related_to", help_text="Issues with any relation to this one (a key)."
    )
    ready = NamedChoiceFilter(
        choices=TRUE_FALSE,
        method="filter_ready",
        help_text="true: open, unassigned or assigned to the caller, and not blocked.",
    )

    class Meta:
        model = Issue
        fields = []

    def _visible(self):
        return Issue.objects.visible_to(Caller.of(self.request))

    def _blocked(self):
        return Exists(
            IssueRelation.objects.filter(
                type="blocks",
                target=OuterRef("pk"),
                source__status__in=Issue.OPEN_STATUSES,
                source__project__in=Project.objects.visible_to(Caller.of(self.request)).values(
                    "pk"
                ),
            )
        )

    def filter_blocked(self, queryset, name, value):
        blocked = self._blocked()
        return queryset.filter(blocked if value == "true" else ~blocked)

    def filter_has_children(self, queryset, name, value):
        children = Exists(
            IssueRelation.objects.filter(
                type="parent", target=OuterRef("pk"), source__in=self._visible().values("pk")
            )
        )
        return queryset.filter(children if value == "true" else ~children)

    def filter_parent(self, queryset, name, value):
        parent = self._visible().by_key(value).values("pk")
        children = IssueRelation.objects.filter(type="parent", target__in=parent)
        return queryset.filter(pk__in=children.values("source"))

    def filter_related_to(self, queryset, name, value):
        other = self._visible().by_key(value).values("pk")
        out = IssueRelation.objects.filter(target__in=other).values("source")
        into = IssueRelation.objects.filter(source__in=other).values("target")
        return queryset.filter(Q(pk__in=out) | Q(pk__in=into))

    def filter_ready(self, queryset, name, value):
        ready = Q(status__in=Issue.OPEN_STATUSES) & (
            Q(assignee=None) | Q(assignee=self.request.user.pk)
        )
        ready &= ~self._blocked()
        return queryset.filter(ready if value == "true" else ~ready)

    def filter_project(self, queryset, name, value):
        # The form has turned keys into projects (an empty queryset when the parameter is
        # absent); the default filter would compare keys with ids.
        return queryset.filter(project__in=value) if value else queryset

    def filter_priority(self, queryset, name, value: list[str]):
        ranks = [p.value for p in Issue.Priority if p.label in value]
        return queryset.filter(priority__in=ranks)

    def filter_assignee(self, queryset, name, value):
        # Not the bots of projects hidden from the caller: as unknown as a made-up name.
        users = users_known_to(self.request.user)
        user = resolve_user(self.request, name, value, allow_none=True, users=users)
        return queryset.filter(assignee=user) if user else queryset.filter(assignee=None)

    def filter_reporter(self, queryset, name, value):
        users = users_known_to(self.request.user)
        return queryset.filter(reporter=resolve_user(self.request, name, value, users=users))

    def filter_labels(self, queryset, name, values):
        # Label names are unique per project regardless of case, and matched that way.
        named = reduce(or_, (Q(name__iexact=value) for value in values))
        ids = defaultdict(list)  # lower-case name -> ids of the labels so named
        for pk, label_name in Label.objects.filter(
            named, project__in=Project.objects.visible_to(Caller.of(self.request))
        ).values_list("pk", "name"):
            ids[label_name.lower()].append(pk)
        unknown = [v for v in values if v.lower() not in ids]
        if unknown:
            raise ValidationError({"label": f"No label is named {', '.join(unknown)}."})
        for value in values:
            # Checked per issue, by id: "(SELECT one tag LIMIT 1) IS NOT NULL" rather than
            # EXISTS, which PostgreSQL may turn into a hash join over every issue carrying
            # the label (150,000 at a million issues) where the issues the other filters
            # leave are a few thousand, each one probe of the (issue, label) index.
            tagged = Issue.labels.through.objects.filter(
                issue=OuterRef("pk"), label__in=ids[value.lower()]
            )
            queryset = queryset.filter(IsNull(Subquery(tagged.values("issue")[:1]), False))
        return queryset

    def filter_is_open(self, queryset, name, value):
        open_ = Q(status__in=Issue.OPEN_STATUSES)
        return queryset.filter(open_ if value == "true" else ~open_)


class IssueFilterBackend(DjangoFilterBackend):
    """django-filter's backend, skipped when the request names none of the filters: building
    a FilterSet (a deep copy of every filter, a form) costs more than a list page's query,
    and IssueFilter's filters change nothing when absent."""

    def filter_queryset(self, request, queryset, view):
        names = tuple(self.get_filterset_class(view, queryset).base_filters)
        if not any(param.startswith(names) for param in request.query_params):
            return queryset
        return super().filter_queryset(request, queryset, view)


class IssueSearchFilter(BaseFilterBackend):
    """`?search=`: full-text over title and description (PostgreSQL, ranked, on a stored
    and indexed vector), case-insensitive substring match elsewhere; an exact key
    (`WEB-42`) comes first."""

    param = "search"
    max_length = 200

    def filter_queryset(self, request, queryset, view):
        text = request.query_params.get(self.param, "").strip()
        if not text:
            return queryset
        if "\x00" in text or len(text) > self.max_length:
            raise ValidationError(
                {self.param: f"Search text: at most {self.max_length} characters, no NUL."}
            )
        project_key, _, number = text.upper().rpartition("-")
        is_number = number.isascii() and number.isdigit()  # not "²", which int() refuses
        is_key = Q(project__key=project_key, number=int(number)) if is_number else Q()
        if connection.vendor == "postgresql":
            from django.contrib.postgres.search import SearchQuery, SearchRank

            query = SearchQuery(text, config="english", search_type="websearch")
            matches = Q(search_vector=query)
            # ts_rank is a float4, which reaches Python rounded to its shortest text form
            # and then no longer equals itself in a cursor's WHERE; a float8 round-trips.
            # F(): given a name, SearchRank would re-parse the vector's text, weights lost.
            rank = Cast(SearchRank(F("search_vector"), query), FloatField())
            queryset = queryset.annotate(**{SEARCH_RANK: rank})
        else:
            matches = Q(title__icontains=text) | Q(description__icontains=text)
            queryset = queryset.annotate(**{SEARCH_RANK: Value(0.0)})
        if is_key:
            matches |= is_key
            queryset = queryset.annotate(
                **{
                    SEARCH_FIRST: Case(
                        When(is_key, then=1), default=0, output_field=IntegerField()
                    )
                }
            )
        return queryset.filter(matches)

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.param,
                "in": "query",
                "required": False,
                "description": "Words to find in title and description, or an issue key. "
                "With it, `ordering=-rank` sorts by relevance.",
                "schema": {"type": "string", "maxLength": self.max_length, "pattern": NO_NUL},
            }
        ]


class IssueEventFilter(filters.FilterSet):
    kind = NamedMultipleChoiceFilter(choices=IssueEvent.Kind.choices)
    actor = filters.CharFilter(method="filter_actor", help_text="A username or `me`.")

    class Meta:
        model = IssueEvent
        fields = []

    def filter_actor(self, queryset, name, value):
        users = users_known_to(self.request.user)
        return queryset.filter(actor=resolve_user(self.request, name, value, users=users))


class IssueOrderingFilter(StrictOrderingFilter):
    """The issue list's orderings: status and due date sort on computed keys, relevance
    (`rank`) only with a search, and an exact key match before everything."""

    annotations = ORDERING_ANNOTATIONS
    requires = {"rank": "search"}

    def leading_terms(self, queryset) -> list[str]:
        return [f"-{SEARCH_FIRST}"] if SEARCH_FIRST in queryset.query.annotations else []
