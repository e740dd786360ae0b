"""Pagination for every list: page numbers by default, keyset cursors on request.

Page numbers (`?page=`, `?page_size=`): `{count, count_exact, next, previous, results}`.
`count` is exact up to COUNT_CAP rows (a list may set a lower cap, as the issue search
does); above it the count stops at the cap and `count_exact` is false, so page 1 of a
huge list costs no more than of a small one.

Cursors (`?cursor=` — empty for the first page — on issues, comments and events):
`{next, previous, results}`, no count. The cursor holds the last row's ordering values,
so a page at any depth is one indexed range scan (`WHERE (key) < (last key) LIMIT n`).

Both send an RFC 8288 `Link` header. The change feed reads on from an id instead
(`?after=`, AfterIdPagination).
"""

from datetime import date, datetime
from functools import reduce
from operator import or_

from django.core import signing
from django.core.paginator import InvalidPage
from django.db.models import F, Q
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
COUNT_CAP = 10_000


def page_size_from(request) -> int:
    """`?page_size=`, default 25; values above 100 are capped, not refused."""
    raw = request.query_params.get("page_size")
    if raw in (None, ""):
        return DEFAULT_PAGE_SIZE
    size = _whole_number(raw)
    if size is None or size < 1:
        raise ValidationError({"page_size": "A whole number from 1 (values over 100 become 100)."})
    return min(size, MAX_PAGE_SIZE)


def _whole_number(raw: str) -> int | None:
    """ASCII digits only: int() also takes other scripts' digits and spaces, isdigit() "²"."""
    return int(raw) if raw.isascii() and raw.isdigit() else None


def link_header(links: dict[str, str | None]) -> str:
    return ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items() if url)


def count_rows(queryset, cap: int) -> int:
    """The rows of `queryset`, counted up to `cap` + 1 (so that more than `cap` shows).
    Without ordering or annotations: the database stops after cap + 1 matching rows
    instead of sorting (or ranking) every match first."""
    return queryset.order_by().values("pk")[: cap + 1].count()


class CappedPaginator:
    """A Django-paginator-like page slicer whose count stops at `cap`."""

    def __init__(self, queryset, per_page: int, read=list, count=count_rows, cap=COUNT_CAP):
        self.queryset = queryset
        self.per_page = per_page
        self.read = read
        self.count = count(queryset, cap)
        self.count_exact = self.count <= cap
        self.count = min(self.count, cap)
        self.num_pages = max(1, -(-self.count // per_page))

    def page(self, number: int):
        if number < 1 or (number > self.num_pages and self.count_exact):
            raise InvalidPage
        start = (number - 1) * self.per_page
        if start > 2**62:  # databases take OFFSET as a 64-bit integer
            raise InvalidPage
        rows = self.read(self.queryset[start : start + self.per_page])
        if not rows and number > 1:
            raise InvalidPage  # past the end of a list longer than the counted part
        return rows


class RowReaderMixin:
    """`read_rows(queryset) -> list` reads the page's slice: model instances by default; a
    list that renders from plain rows (the issue list) gives its own reader.
    `count_rows(queryset, cap) -> int` counts for page numbers, and `count_cap(request)`
    says up to where; a list whose matches are costly to count (the issue search) gives
    its own."""

    read_rows = staticmethod(list)
    count_rows = staticmethod(count_rows)

    def __init__(self, read_rows=None, count_rows=None, count_cap=None):
        if read_rows is not None:
            self.read_rows = read_rows
        if count_rows is not None:
            self.count_rows = count_rows
        if count_cap is not None:
            self.count_cap = count_cap

    def count_cap(self, request) -> int:
        return COUNT_CAP

    def delegate_args(self) -> dict:
        return {
            "read_rows": self.read_rows,
            "count_rows": self.count_rows,
            "count_cap": self.count_cap,
        }


class PageNumberPagination(RowReaderMixin, pagination.BasePagination):
    """`?page=` and `?page_size=` (default 25; larger than 100 is capped at 100)."""

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = page_size_from(request)
        self.number = _whole_number(request.query_params.get("page", "1"))
        if self.number is None:
            raise ValidationError({"page": "A page number from 1."})
        self.paginator = CappedPaginator(
            queryset,
            self.page_size,
            self.read_rows,
            count=self.count_rows,
            cap=self.count_cap(request),
        )
        try:
            self.results = self.paginator.page(self.number)
        except InvalidPage as e:
            raise NotFound(
                f"Page {self.number} does not exist; the last page is {self.paginator.num_pages}."
            ) from e
        return self.results

    def _page_url(self, number: int | None) -> str | None:
        if number is None:
            return None
        url = self.request.build_absolute_uri()
        return (
            remove_query_param(url, "page")
            if number == 1
            else replace_query_param(url, "page", number)
        )

    def get_paginated_response(self, data):
        paginator, number = self.paginator, self.number
        has_next = len(self.results) == self.page_size and (
            number < paginator.num_pages or not paginator.count_exact
        )
        links = {
            "next": self._page_url(number + 1 if has_next else None),
            "prev": self._page_url(number - 1 if number > 1 else None),
            "first": self._page_url(1),
            "last": self._page_url(paginator.num_pages if paginator.count_exact else None),
        }
        body = {
            "count": paginator.count,
            "count_exact": paginator.count_exact,
            "next": links["next"],
            "previous": links["prev"],
            "results": data,
        }
        return Response(body, headers={"Link": link_header(links)})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "count_exact", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "description": f"Rows matching the filters, exact up to {COUNT_CAP}.",
                },
                "count_exact": {
                    "type": "boolean",
                    "description": f"False when more than {COUNT_CAP} rows match.",
                },
                "next": {"type": "string", "format": "uri", "nullable": True},
                "previous": {"type": "string", "format": "uri", "nullable": True},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "description": "Page number, from 1.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "description": f"Rows per page (default {DEFAULT_PAGE_SIZE}; "
                f"larger than {MAX_PAGE_SIZE} is capped at {MAX_PAGE_SIZE}).",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]


def _encode_value(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _decode_value(value, sample_type):
    if value is None:
        return None
    if sample_type == "datetime":
        parsed = parse_datetime(value)
    elif sample_type == "date":
        parsed = parse_date(value)
    else:
        return value
    if parsed is None:
        raise ValueError(value)
    return parsed


def _kind(value) -> str:
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    return "plain"


class KeysetCursorPagination(RowReaderMixin, pagination.BasePagination):
    """Keyset pagination over the view's ordering (ties broken by id).

    The view's queryset must be ordered by plain fields or annotations, none of
    them nullable; the last one must be unique (`id`).
    """

    cursor_query_param = "cursor"
    salt = "tracker.cursor"

    def _ordering(self, queryset) -> list[tuple[str, bool]]:
        """[(field, descending), ...] from the queryset's ORDER BY."""
        fields = []
        for item in queryset.query.order_by:
            name = item if isinstance(item, str) else item.expression.name
            descending = name.startswith("-") if isinstance(item, str) else item.descending
            fields.append((name.lstrip("-"), descending))
        if not fields or fields[-1][0] not in ("id", "pk"):
            raise AssertionError("Keyset pagination needs an ordering that ends with id.")
        return fields

    def _decode(self, raw: str) -> dict | None:
        if raw == "":
            return None
        try:
            cursor = signing.loads(raw, salt=self.salt)
            if not isinstance(cursor, dict) or not isinstance(cursor.get("v"), list):
                raise ValueError
            return cursor
        except (signing.BadSignature, ValueError, TypeError) as e:
            raise ValidationError(
                {"cursor": "Invalid cursor; use the next or previous link of a page."}
            ) from e

    def _encode(self, row, ordering, reverse: bool) -> str:
        # Rows are model instances, or dicts where a list reads .values().
        values = [
            row[name] if isinstance(row, dict) else getattr(row, name) for name, _ in ordering
        ]
        return signing.dumps(
            {
                "v": [_encode_value(v) for v in values],
                "t": [_kind(v) for v in values],
                "o": [f"{'-' if desc else ''}{name}" for name, desc in ordering],
                "r": reverse,
            },
            salt=self.salt,
            compress=True,
        )

    @staticmethod
    def _after(ordering, values, reverse: bool) -> Q:
        """Rows strictly after `values` in the ordering (before, if `reverse`):
        (a < x) OR (a = x AND b < y) OR ..., plus a <= x up front so the database
        can start an index range scan at the cursor."""
        steps, equal = [], Q()
        for (name, descending), value in zip(ordering, values, strict=True):
            op = "lt" if descending != reverse else "gt"
            steps.append(equal & Q(**{f"{name}__{op}": value}))
            equal &= Q(**{name: value})
        (first, descending), first_value = ordering[0], values[0]
        bound = Q(**{f"{first}__{'lte' if descending != reverse else 'gte'}": first_value})
        return bound & reduce(or_, steps)

    def check_query(self, request) -> None:
        """Refuse, as a page would, a page size or cursor that is no good, without reading."""
        page_size_from(request)
        self._decode(request.query_params.get(self.cursor_query_param, ""))

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = page_size_from(request)
        ordering = self._ordering(queryset)
        cursor = self._decode(request.query_params.get(self.cursor_query_param, ""))
        reverse = False
        if cursor is not None:
            expected = [f"{'-' if desc else ''}{name}" for name, desc in ordering]
            if cursor.get("o") != expected or len(cursor["v"]) != len(ordering):
                raise ValidationError(
                    {"cursor": "This cursor belongs to another ordering; start again."}
                )
            reverse = bool(cursor.get("r"))
            try:
                values = [
                    _decode_value(v, t)
                    for v, t in zip(cursor["v"], cursor.get("t", []), strict=True)
                ]
            except (ValueError, TypeError) as e:
                raise ValidationError({"cursor": "Invalid cursor."}) from e
            queryset = queryset.filter(self._after(ordering, values, reverse))
        if reverse:
            flipped = [F(name).asc() if desc else F(name).desc() for name, desc in ordering]
            queryset = queryset.order_by(*flipped)
        rows = self.read_rows(queryset[: self.page_size + 1])
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if reverse:
            rows.reverse()
        self.results = rows
        self.ordering = ordering
        url = request.build_absolute_uri()
        has_next = more if not reverse else True
        has_prev = (cursor is not None) if not reverse else more
        self.links = {
            "next": (
                replace_query_param(url, "cursor", self._encode(rows[-1], ordering, False))
                if rows and has_next
                else None
            ),
            "prev": (
                replace_query_param(url, "cursor", self._encode(rows[0], ordering, True))
                if rows and has_prev
                else None
            ),
            "first": replace_query_param(url, "cursor", ""),
        }
        return rows

    def get_paginated_response(self, data):
        body = {"next": self.links["next"], "previous": self.links["prev"], "results": data}
        return Response(body, headers={"Link": link_header(self.links)})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "format": "uri", "nullable": True},
                "previous": {"type": "string", "format": "uri", "nullable": True},
                "results": schema,
            },
        }


class FlexiblePagination(RowReaderMixin, pagination.BasePagination):
    """Page numbers by default; keyset cursors when `?cursor=` is given."""

    def _pick(self, request):
        if "cursor" in request.query_params:
            if "page" in request.query_params:
                raise ValidationError({"cursor": "Use either page or cursor, not both."})
            return KeysetCursorPagination(**self.delegate_args())
        return PageNumberPagination(**self.delegate_args())

    def paginate_queryset(self, queryset, request, view=None):
        self.delegate = self._pick(request)
        return self.delegate.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        return self.delegate.get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
        page = PageNumberPagination().get_paginated_response_schema(schema)
        page["description"] = "With ?cursor=, `count` and `count_exact` are left out."
        page["required"] = ["results"]
        return page

    def get_schema_operation_parameters(self, view):
        return [
            *PageNumberPagination().get_schema_operation_parameters(view),
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "Keyset paging: pass an empty value for the first page, then "
                "follow `next`/`previous`. Fixed cost at any depth, no count.",
                "schema": {"type": "string"},
            },
        ]


# -- reading on from an id (the change feed) ----------------------------------------------

AFTER_ID_DEFAULT_LIMIT = 50
AFTER_ID_MAX_LIMIT = 200


# Event ids are bigints: an `after` beyond the largest can name no event.
MAX_ID = 2**63 - 1


def _bounded_param(request, name: str, default: int, minimum: int, maximum: int) -> int:
    """The parameter's value, from `minimum`; values above `maximum` are `maximum`."""
    if len(request.query_params.getlist(name)) > 1:
        raise ValidationError({name: "Give this parameter once."})
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    # Long ones are not converted at all (Python refuses to turn thousands of digits into
    # an int): 20 digits are beyond any bigint.
    if len(raw) >= 20 and raw.isascii() and raw.isdigit():
        return maximum
    number = _whole_number(raw)
    if number is None or number < minimum:
        raise ValidationError({name: f"A whole number from {minimum}."})
    return min(number, maximum)


class AfterIdPagination(pagination.BasePagination):
    """`?after=<id>&limit=<n>`: the events after the last one a reader processed, in id
    order. Ids follow commit order (events.outbox), so resuming never skips one."""

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.after = _bounded_param(request, "after", 0, 0, MAX_ID)
        limit = _bounded_param(request, "limit", AFTER_ID_DEFAULT_LIMIT, 1, AFTER_ID_MAX_LIMIT)
        # One more than asked: whether more follow, without a count.
        rows = list(queryset.filter(pk__gt=self.after).order_by("pk")[: limit + 1])
        self.has_more = len(rows) > limit
        self.results = rows[:limit]
        return self.results

    def get_paginated_response(self, data):
        last = self.results[-1].pk if self.results else self.after
        url = replace_query_param(self.request.build_absolute_uri(), "after", last)
        body = {"next": url, "has_more": self.has_more, "results": data}
        return Response(body, headers={"Link": link_header({"next": url})})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "has_more", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "format": "uri",
                    "description": "This request with `after` set to the page's last id (or "
                    "the same `after` if the page is empty): where to read on, now if "
                    "`has_more`, else later.",
                },
                "has_more": {
                    "type": "boolean",
                    "description": "Whether events after this page exist already.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "after",
                "in": "query",
                "required": False,
                "description": "Only events with a greater id: the last id you processed "
                "(default 0, from the first). Ids are 64-bit; a larger number reads as the "
                "largest, after which there are none.",
                "schema": {"type": "integer", "minimum": 0},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Events per page (default {AFTER_ID_DEFAULT_LIMIT}; larger than "
                f"{AFTER_ID_MAX_LIMIT} is capped at {AFTER_ID_MAX_LIMIT}).",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]
