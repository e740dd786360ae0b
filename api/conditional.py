"""Conditional requests (RFC 9110 §13): strong ETags on answers, 304 for a matching
If-None-Match, and the If-Match a write passes on to its service."""

import hashlib

import orjson
from rest_framework import status

from api.versions import Expected


def etag_for(data) -> str:
    """A strong ETag for a representation: the same data always gives the same tag."""
    # orjson: a page of 100 issues costs a tenth of a millisecond, several times less than json.
    canonical = orjson.dumps(
        data, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str
    )
    return '"' + hashlib.sha256(canonical).hexdigest()[:40] + '"'


def _tags(header: str) -> set[str]:
    return {tag.strip() for tag in header.split(",") if tag.strip()}


def none_match(header: str, tag: str) -> bool:
    """Whether an If-None-Match header names `tag`. The comparison is weak (RFC 9110
    §13.1.2): a cache may hold `W/"x"` for our `"x"`; `*` names any current one."""
    tags = {t.removeprefix("W/") for t in _tags(header)}
    return "*" in tags or tag in tags


# The names the views' declarations (ConditionalMixin's, the `rights` maps) use for views
# that are not viewsets (`/me`, `/auth/logout`), as DRF's generic views name them.
METHOD_ACTIONS = {
    "GET": "retrieve",
    "HEAD": "retrieve",
    "POST": "create",
    "PUT": "update",
    "PATCH": "partial_update",
    "DELETE": "destroy",
    "OPTIONS": "metadata",
}


def action_of(view, method: str) -> str | None:
    """The viewset action `method` runs on `view`; on other views, its name by method."""
    if hasattr(view, "action"):
        return view.action
    return METHOD_ACTIONS.get(method.upper())


class ConditionalMixin:
    """Conditional requests (RFC 9110 §13), declared per action; api/schema.py documents
    exactly these declarations.

    The 200 answers of `etag_actions` carry a strong ETag over their JSON body (a list's:
    the whole page); a GET whose `If-None-Match` names it is a 304 with no body. The
    `if_match_actions` change the resource only if it still has the ETag `If-Match` names
    (else 412, nothing changed); without `If-Match` (or with `*`) they simply proceed.
    The view passes `expected()` to the service, which compares under the row lock it
    takes (api/versions.py), so no change slips in between."""

    etag_actions = ("list", "retrieve", "update", "partial_update")
    if_match_actions = ("update", "partial_update", "destroy")

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        renderer = getattr(request, "accepted_renderer", None)
        if (
            action_of(self, request.method) in self.etag_actions
            and response.status_code == 200
            and getattr(response, "data", None) is not None
            # A strong tag names one representation, the JSON; the browsable API's HTML has none.
            and getattr(renderer, "format", None) == "json"
        ):
            tag = etag_for(response.data)
            response["ETag"] = tag
            if request.method in ("GET", "HEAD") and none_match(
                request.headers.get("If-None-Match", ""), tag
            ):
                response.status_code = status.HTTP_304_NOT_MODIFIED
                response.data = None
        return response

    def representation(self, instance):
        """What a GET of `instance` answers: the data its ETag is computed from."""
        return self.serializer_class(instance, context=self.get_serializer_context()).data

    def expected(self) -> Expected | None:
        """The version a write of this request was based on, for its service to check under
        the row lock: the ETags `If-Match` names (None without one, or with `*`). Only in
        `if_match_actions`, which the schema documents."""
        if action_of(self, self.request.method) not in self.if_match_actions:
            return None
        header = self.request.headers.get("If-Match")
        if header is None or header.strip() == "*":
            return None
        # Strong comparison (RFC 9110 §13.1.1): a weak W/ tag never matches ours.
        return Expected.of(_tags(header), lambda row: etag_for(self.representation(row)))
