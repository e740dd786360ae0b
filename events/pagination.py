from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from config.pagination import link_header

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


# Event ids are bigints: an `after` beyond the largest can name no event.
MAX_ID = 2**63 - 1


def _whole_number(request, name: str, default: int, minimum: int, maximum: int) -> int:
    """The parameter's value, from `minimum`; values above `maximum` are `maximum`."""
    if len(request.query_params.getlist(name)) > 1:
        raise ValidationError({name: "Give this parameter once."})
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    # ASCII digits only: int() also takes other scripts' digits, signs and spaces. Long
    # ones are not converted at all (Python refuses to turn thousands of digits into an int).
    if not (raw.isascii() and raw.isdigit()) or (len(raw) < 20 and int(raw) < minimum):
        raise ValidationError({name: f"A whole number from {minimum}."})
    return maximum if len(raw) >= 20 else min(int(raw), maximum)


class AfterIdPagination(pagination.BasePagination):
    """`?after=<id>&limit=<n>`: the events after the last one a reader processed, in id
    order. Ids follow commit order (events.outbox), so resuming never skips one."""

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.after = _whole_number(request, "after", 0, 0, MAX_ID)
        limit = _whole_number(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
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
                "description": f"Events per page (default {DEFAULT_LIMIT}; larger than "
                f"{MAX_LIMIT} is capped at {MAX_LIMIT}).",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]
