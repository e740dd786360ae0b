"""Query-language pieces shared by every list: strict ordering and user references, and
the check that every endpoint takes only the query parameters it documents."""

from datetime import UTC
from functools import cache

import django_filters as filters
from django import forms
from django.contrib.auth import get_user_model
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend, OrderingFilter, SearchFilter
from rest_framework.settings import api_settings

from api.fields import NO_NUL

# An annotation a search filter adds to put exact key matches first.
TRUE_FALSE = [("true", "true"), ("false", "false")]


# Parameters of every list besides its filters (search, ordering, either pagination).
LIST_PARAMETERS = frozenset({"search", "ordering", "page", "page_size", "cursor"})
# How often a repeatable parameter may be given: each label is a subquery of its own, and
# 500 of them (a 4 KB URL) kept PostgreSQL busy for minutes.
MAX_REPEATS = 10


@cache
def _single_valued(filterset_class) -> frozenset[str]:
    filters_ = filterset_class.base_filters.items() if filterset_class else ()
    repeatable = {name for name, f in filters_ if isinstance(f, filters.MultipleChoiceFilter)}
    return LIST_PARAMETERS | ({name for name, _ in filters_} - repeatable)


class RepeatedParametersFilter(BaseFilterBackend):
    """A list parameter that takes one value, given twice, is a 400: the API does not guess
    which one counts. Repeatable filters (`?status=open&status=closed`) take up to
    MAX_REPEATS values."""

    def filter_queryset(self, request, queryset, view):
        single = _single_valued(getattr(view, "filterset_class", None))
        errors = {}
        for name, values in sorted(request.query_params.lists()):
            if len(values) > 1 and name in single:
                errors[name] = "Give this parameter once."
            elif len(values) > MAX_REPEATS:
                errors[name] = f"At most {MAX_REPEATS} values."
        if errors:
            raise ValidationError(errors)
        return queryset


class StrictQueryMixin:
    """For views: a query parameter the endpoint does not take is a 400 naming it and the
    ones it takes, so a typo (`?assigne=me`) never answers the unfiltered list. A list
    takes what its schema documents, read from the same places drf-spectacular reads:
    its filterset's filters, its other filter backends' and its pagination's parameters.
    Every endpoint takes DRF's `format` (`?format=api`, the browsable API)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # OPTIONS describes the endpoint, and as a CORS preflight carries the query of the
        # request to come.
        if request.method == "OPTIONS":
            return
        # A method the endpoint does not have is a 405, whatever its query says.
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            return
        accepted = self.query_parameters()
        unknown = sorted(set(request.query_params) - accepted)
        if unknown:
            message = f"Unknown parameter; this endpoint takes: {', '.join(sorted(accepted))}."
            raise ValidationError(dict.fromkeys(unknown, message), code="unknown_parameter")

    def query_parameters(self) -> set[str]:
        accepted = {api_settings.URL_FORMAT_OVERRIDE}
        if getattr(self, "action", None) != "list":
            return accepted
        sources = [backend() for backend in self.filter_backends]
        if self.paginator is not None:
            sources.append(self.paginator)
        for source in sources:
            if isinstance(source, DjangoFilterBackend):
                # Its own schema method would evaluate the view's queryset.
                accepted.update(self.filterset_class.base_filters)
            else:
                parameters = source.get_schema_operation_parameters(self)
                accepted.update(parameter["name"] for parameter in parameters)
        return accepted


class StrictOrderingFilter(OrderingFilter):
    """`?ordering=a,-b` over the view's `ordering_fields` (API name -> model field or one
    of `annotations`); an unknown field is a 400, never ignored. Ties are always broken
    by id, so orderings are total and cursors stable. A list with computed sort keys
    subclasses it and says so in the three class attributes below."""

    # Sort keys computed per row: name -> expression, annotated only when ordered by.
    annotations: dict = {}
    # Orderings offered only with a query parameter: API name -> parameter (rank -> search).
    requires: dict[str, str] = {}

    def leading_terms(self, queryset) -> list[str]:
        """Terms sorted on before the caller's ordering (e.g. an exact match first)."""
        return []

    def _allowed(self, request, view) -> dict[str, str]:
        allowed = dict(view.ordering_fields)
        for name, needs in self.requires.items():
            if not request.query_params.get(needs, "").strip():  # blank is absent
                allowed.pop(name, None)
        return allowed

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param)
        allowed = self._allowed(request, view)
        if raw is None or raw.strip() == "":
            terms = list(view.ordering)
        else:
            terms = [term.strip() for term in raw.split(",")]
            unknown = [t for t in terms if t.lstrip("-") not in allowed]
            if unknown:
                raise ValidationError(
                    {
                        "ordering": f"Cannot order by {', '.join(unknown)}; "
                        f"choose from {', '.join(allowed)} (prefix - for descending)."
                    }
                )
        ordering = []
        for term in terms:
            descending = term.startswith("-")
            field = allowed.get(term.lstrip("-"), term.lstrip("-"))
            ordering.append(f"-{field}" if descending else field)
        if ordering[-1].lstrip("-") != "id":
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        return ordering

    def filter_queryset(self, request, queryset, view):
        ordering = self.get_ordering(request, queryset, view)
        for term in ordering:
            name = term.lstrip("-")
            if name in self.annotations and name not in queryset.query.annotations:
                queryset = queryset.annotate(**{name: self.annotations[name]})
        return queryset.order_by(*self.leading_terms(queryset), *ordering)

    def get_schema_operation_parameters(self, view):
        names = ", ".join(view.ordering_fields)
        terms = [term for name in view.ordering_fields for term in (name, f"-{name}")]
        return [
            {
                "name": self.ordering_param,
                "in": "query",
                "required": False,
                "description": f"Comma-separated sort fields, `-` for descending: {names}. "
                f"Default: {','.join(view.ordering)}. Ties are broken by id.",
                # A comma-separated list (form style, not exploded) of known terms.
                "style": "form",
                "explode": False,
                "schema": {"type": "array", "items": {"type": "string", "enum": terms}},
            }
        ]


class StrictSearchFilter(SearchFilter):
    """DRF's `?search=` over `search_fields`, refusing text no database should see."""

    max_length = 200

    def get_search_terms(self, request):
        text = request.query_params.get(self.search_param, "")
        if "\x00" in text or len(text) > self.max_length:
            raise ValidationError(
                {self.search_param: f"At most {self.max_length} characters, no NUL."}
            )
        return super().get_search_terms(request)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"].update(maxLength=self.max_length, pattern=NO_NUL)
        return parameters


def resolve_user(request, name: str, value: str, allow_none: bool = False, users=None):
    """A user filter value: a username (of `users`, if given), `me`, or (if allowed) `none`;
    else a 400."""
    if value == "me":
        return request.user
    if allow_none and value == "none":
        return None
    users = get_user_model().objects if users is None else users
    user = users.filter(username__iexact=value).first()
    if user is None:
        raise ValidationError({name: f"No user is named {value!r}."})
    return user


class UtcIsoDateTimeField(filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time, in UTC: any offset is accepted, but the moment must exist
    between the years 1 and 9999 in UTC (which the database stores)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError as e:
            raise forms.ValidationError(
                "Out of range: the moment must fall between the years 1 and 9999 in UTC.",
                code="invalid",
            ) from e


class UtcIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class RepeatableCharField(forms.MultipleChoiceField):
    """Any text values, from a repeated query parameter (`?label=a&label=b`)."""

    def valid_value(self, value):
        return "\x00" not in value and len(value) <= 100


# One value's type: drf-spectacular makes repeatable (multiple choice) filters arrays itself.
@extend_schema_field({"type": "string"})
class RepeatableCharFilter(filters.MultipleChoiceFilter):
    field_class = RepeatableCharField


class NamedChoicesMixin:
    """A form field whose invalid choice names the valid ones, in their order:
    `"critical" is not one of lowest, low, medium, high, highest.`"""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        valid = ", ".join(str(value) for value, _ in self.choices if value != "")
        message = f'"%(value)s" is not one of {valid.replace("%", "%%")}.'
        self.error_messages["invalid_choice"] = message


class NamedChoiceField(NamedChoicesMixin, filters.fields.ChoiceField):
    pass


class NamedMultipleChoiceField(NamedChoicesMixin, filters.fields.MultipleChoiceField):
    pass


class NamedChoiceFilter(filters.ChoiceFilter):
    """django-filter's ChoiceFilter; an invalid choice names the valid ones."""

    field_class = NamedChoiceField


class NamedMultipleChoiceFilter(filters.MultipleChoiceFilter):
    """django-filter's MultipleChoiceFilter; an invalid choice names the valid ones."""

    field_class = NamedMultipleChoiceField
