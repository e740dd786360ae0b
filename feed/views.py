from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.permissions import IsAuthenticated

from accounts.callers import Caller
from accounts.permissions import HasSiteRights
from api.filters import RepeatedParametersFilter, StrictQueryMixin
from api.pagination import AfterIdPagination
from events.models import Event
from projects.models import Project

from .filters import EventFilter
from .serializers import EventSerializer


class EventViewSet(StrictQueryMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The change feed: every event of the projects the caller can see, oldest first."""

    queryset = Event.objects.none()  # for the schema; get_queryset() scopes to the caller
    serializer_class = EventSerializer
    pagination_class = AfterIdPagination
    filter_backends = [RepeatedParametersFilter, DjangoFilterBackend]
    filterset_class = EventFilter
    permission_classes = [IsAuthenticated, HasSiteRights]
    rights = {"list": "read_events"}

    def get_queryset(self):
        events = Event.objects.select_related("actor")
        caller = Caller.of(self.request)
        if caller.user.is_site_admin and caller.project_ids is None:
            return events  # also the events of deleted projects
        # A token limited to projects reads theirs alone, a site admin's too.
        # Visibility now, not when the event happened: losing access hides the past too.
        return events.filter(project__in=Project.objects.visible_to(caller).values("pk"))

    @extend_schema(summary="Read the change feed", operation_id="events_list")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
