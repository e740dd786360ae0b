import hashlib

import orjson
from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.callers import Caller
from accounts.permissions import HasSiteRights
from api.conditional import none_match
from api.filters import RepeatedParametersFilter, StrictQueryMixin
from api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, KeysetCursorPagination
from issues.mixins import IssueScopedMixin
from projects.mixins import ProjectScopedMixin
from projects.permissions import CanViewProject, HasRights

from . import selectors, services
from .filters import ThreadFilter
from .mail import read_unsubscribe_token
from .models import Thread
from .schema import InboxSchema
from .serializers import (
    IssueSubscriptionSerializer,
    MarkReadResultSerializer,
    MarkReadSerializer,
    NotificationSettingsSerializer,
    ProjectSubscriptionRequestSerializer,
    ProjectSubscriptionSerializer,
    ThreadMarkSerializer,
    ThreadSerializer,
)

POLL_INTERVAL = OpenApiParameter(
    "X-Poll-Interval",
    OpenApiTypes.INT,
    location=OpenApiParameter.HEADER,
    response=[200, 304],
    description="Seconds to wait before polling again (send the ETag as If-None-Match: an "
    "unchanged inbox is a 304 that costs no rate limit).",
)


class InboxPagination(KeysetCursorPagination):
    """Cursors only: the inbox is walked from its newest activity, never jumped into. The
    page is read as plain rows (selectors.thread_rows)."""

    read_rows = staticmethod(selectors.thread_rows)

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "Leave out (or empty) for the first page, then follow "
                "`next`/`previous`.",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "description": f"Threads per page (default {DEFAULT_PAGE_SIZE}; larger than "
                f"{MAX_PAGE_SIZE} is capped at {MAX_PAGE_SIZE}).",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]


@extend_schema_view(
    retrieve=extend_schema(summary="Get a notification thread"),
    partial_update=extend_schema(
        summary="Mark a notification thread read or unread",
        description='Mark the thread read (`{"read": true}`) or unread again.',
        request=ThreadMarkSerializer,
        responses=ThreadSerializer,
    ),
    destroy=extend_schema(
        summary="Mark a notification thread done",
        description="Mark the thread done: read, and out of the inbox until new activity on "
        "its issue brings it back.",
    ),
)
class InboxViewSet(
    StrictQueryMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your notifications: one thread per issue, newest activity first. A thread carries
    the issue as it is now, the latest reason and actor and the event behind them; new
    activity makes it unread and brings it back from done. Only issues you can see now
    are listed. Poll with If-None-Match: an unchanged inbox is a 304 that costs no rate
    limit; X-Poll-Interval says how often to ask."""

    queryset = Thread.objects.none()  # for the schema; get_queryset() scopes to the caller
    serializer_class = ThreadSerializer
    schema = InboxSchema()
    permission_classes = [IsAuthenticated, HasSiteRights]
    rights = dict.fromkeys(
        ("list", "retrieve", "partial_update", "destroy", "mark_read"), "notifications"
    )
    pagination_class = InboxPagination
    filter_backends = [RepeatedParametersFilter, DjangoFilterBackend]
    filterset_class = ThreadFilter
    lookup_url_kwarg = "thread_id"
    lookup_value_regex = "[0-9]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    # What the schema documents (api/schema.py); the list's ETag is its own (inbox_etag).
    etag_actions = ("list",)
    if_match_actions = ()

    def get_queryset(self):
        return selectors.inbox_threads(Caller.of(self.request))

    def get_object(self):
        thread = selectors.thread_get(Caller.of(self.request), self.thread_id())
        if thread is None:
            raise Http404
        return thread

    def thread_id(self) -> int:
        thread_id = int(self.kwargs["thread_id"])
        return thread_id if thread_id < 2**63 else 0  # beyond a bigint: none

    def retrieve(self, request, thread_id=None):
        row = selectors.thread_row(Caller.of(request), self.thread_id())
        if row is None:
            raise Http404
        return Response(self.get_serializer(row).data)

    # -- the list's ETag, checked before the throttle counts the request --------------------

    def inbox_etag(self, request) -> str:
        """The list's ETag, from the inbox's version, what limits the caller's view and the
        query: one indexed read, no rows."""
        user = request.user
        limit = Caller.of(request).project_ids
        basis = [
            user.pk,
            selectors.inbox_version(user),
            user.is_site_admin,
            sorted(limit) if limit is not None else None,
            request.get_full_path(),
        ]
        return '"' + hashlib.sha256(orjson.dumps(basis)).hexdigest()[:40] + '"'

    def check_throttles(self, request):
        # A poll of an unchanged inbox is answered before the throttle counts it.
        self.not_modified = False
        if self.action == "list" and request.method in ("GET", "HEAD"):
            header = request.headers.get("If-None-Match", "")
            json = getattr(request.accepted_renderer, "format", None) == "json"
            if header and json:
                # A query the list would refuse is that 400, never a 304.
                self.filter_queryset(self.get_queryset())
                self.paginator.check_query(request)
                self.etag = self.inbox_etag(request)
                self.not_modified = none_match(header, self.etag)
                if self.not_modified:
                    return
        super().check_throttles(request)

    @extend_schema(summary="List your notifications", parameters=[POLL_INTERVAL])
    def list(self, request, *args, **kwargs):
        headers = {"X-Poll-Interval": str(settings.NOTIFY_POLL_INTERVAL)}
        json = getattr(request.accepted_renderer, "format", None) == "json"
        if json:
            # Read before the rows: a change between the two shows as a new ETag next time.
            headers["ETag"] = getattr(self, "etag", None) or self.inbox_etag(request)
        if self.not_modified:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        response = super().list(request, *args, **kwargs)
        for name, value in headers.items():
            response[name] = value
        return response

    def partial_update(self, request, thread_id=None):
        serializer = ThreadMarkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        thread = services.thread_mark(
            thread=self.get_object(), read=serializer.validated_data["read"]
        )
        return Response(
            self.get_serializer(selectors.thread_row(Caller.of(request), thread.pk)).data
        )

    def perform_destroy(self, instance):
        services.thread_done(thread=instance)

    @extend_schema(request=MarkReadSerializer, responses=MarkReadResultSerializer)
    @action(detail=False, methods=["post"], url_path="mark-read", filter_backends=[])
    def mark_read(self, request):
        """Mark your unread threads read: all of them, or those whose latest activity is
        not later than `before` (a time, or an event id). Done when the answer comes;
        asking again changes nothing. The answer says how many changed."""
        serializer = MarkReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changed = services.threads_mark_read(
            user=request.user,
            threads=selectors.inbox_threads(Caller.of(request)),
            before=serializer.validated_data.get("before"),
        )
        return Response({"changed": changed})


@extend_schema_view(
    get=extend_schema(
        summary="Get your notification settings",
        description="How each reason's notifications reach you by mail.",
    ),
    patch=extend_schema(
        summary="Change your notification settings",
        description="Set how the reasons sent reach you by mail; the others keep theirs. "
        "Values: `immediately`, `batched`, `daily`, `never`.",
    ),
)
class NotificationSettingsView(StrictQueryMixin, generics.GenericAPIView):
    """Your mail settings, per reason."""

    serializer_class = NotificationSettingsSerializer
    permission_classes = [IsAuthenticated, HasSiteRights]
    rights = dict.fromkeys(("retrieve", "partial_update"), "notifications")

    def get(self, request):
        return Response(services.settings_of(request.user))

    def patch(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(
            services.settings_update(user=request.user, email=serializer.validated_data)
        )


class SubscriptionMixin:
    """A subscription of the caller's, a singleton under what it is about."""

    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    rights = dict.fromkeys(("retrieve", "update", "destroy"), "watch")
    pagination_class = None
    filter_backends = []

    def get_object(self):
        # What the subscription is to; DRF's OPTIONS asks for it to describe PUT.
        return self.get_subject()


@extend_schema_view(
    retrieve=extend_schema(
        summary="Get your subscription to an issue",
        description="Whether you hear of the issue's activity, and why.",
    ),
    update=extend_schema(
        summary="Watch an issue",
        description="Hear of all the issue's activity; undoes an unwatch.",
        request=None,
    ),
    destroy=extend_schema(
        summary="Unwatch an issue",
        description="Stop hearing of the issue's activity, even as its reporter, assignee "
        "or a commenter, until you watch it again; being assigned or mentioned still "
        "notifies you.",
    ),
)
class IssueSubscriptionViewSet(
    StrictQueryMixin, IssueScopedMixin, SubscriptionMixin, viewsets.GenericViewSet
):
    serializer_class = IssueSubscriptionSerializer

    get_subject = IssueScopedMixin.get_issue

    def answer(self):
        subscribed, reason = selectors.issue_subscription(self.request.user, self.get_issue())
        return Response({"subscribed": subscribed, "reason": reason})

    def retrieve(self, request, issue_key=None):
        return self.answer()

    def update(self, request, issue_key=None):
        services.issue_watch(user=request.user, issue=self.get_issue())
        return self.answer()

    def destroy(self, request, issue_key=None):
        services.issue_unwatch(user=request.user, issue=self.get_issue())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    retrieve=extend_schema(
        summary="Get your subscription to a project",
        description="Whether you watch the project, and at which level.",
    ),
    update=extend_schema(
        summary="Watch a project",
        description="Hear of every change in the project (`level: all`, the default) or "
        "only of its new issues (`new_issues`).",
        request=ProjectSubscriptionRequestSerializer,
    ),
    destroy=extend_schema(
        summary="Unwatch a project",
        description="Stop watching the project (its issues you take part in still " "notify you).",
    ),
)
class ProjectSubscriptionViewSet(
    SubscriptionMixin, StrictQueryMixin, ProjectScopedMixin, viewsets.GenericViewSet
):
    serializer_class = ProjectSubscriptionSerializer

    def get_subject(self):
        return self.get_project()

    def answer(self):
        level = selectors.project_subscription(self.request.user, self.get_project())
        return Response({"subscribed": level is not None, "level": level})

    def retrieve(self, request, project_key=None):
        return self.answer()

    def update(self, request, project_key=None):
        serializer = ProjectSubscriptionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.project_watch(
            user=request.user, project=self.get_project(), **serializer.validated_data
        )
        return self.answer()

    def destroy(self, request, project_key=None):
        services.project_unwatch(user=request.user, project=self.get_project())
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- one-click unsubscribe (RFC 8058), at the site's root ----------------------------------


@csrf_exempt  # the signed token is the credential; mail providers POST without a session
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe_page(request, token: str):
    """GET asks (mail scanners open links: nothing changes); POST (the mail client's
    one-click `List-Unsubscribe=One-Click`, or the page's button) unsubscribes."""
    payload = read_unsubscribe_token(token)
    if payload is None:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        done = services.unsubscribe(payload=payload)
        return render(request, "notifications/unsubscribe.html", {"done": done})
    question = services.unsubscribe_question(payload=payload)
    return render(request, "notifications/unsubscribe.html", {"question": question})
