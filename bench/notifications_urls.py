"""The product's URLs, plus the inbox's data floor at /bench/floor/notifications.

The floor serves the same page as GET /api/v1/me/notifications (the same rows, joins,
visibility filter and order, `?unread=true` too), read through .values() and encoded with
orjson, for the user named by `?user=`: no authentication, no DRF, no ETag, nothing but
Django's request cycle and the database. Nothing serving these rows can be cheaper.
"""

import orjson
from django.http import HttpResponse
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as product_urlpatterns

FIELDS = (
    "id",
    "reason",
    "event_id",
    "updated_at",
    "read_at",
    "issue__number",
    "issue__title",
    "issue__status",
    "project__key",
    "actor__id",
    "actor__username",
    "actor__display_name",
    "actor__type",
)


def floor_notifications(request):
    from accounts.models import User
    from notifications.models import Thread
    from projects.models import Project

    user = User.objects.get(pk=int(request.GET["user"]))
    visible = Project.objects.visible_to(user).values("pk")
    threads = Thread.objects.filter(user=user, done_at__isnull=True, project_id__in=visible)
    if request.GET.get("unread") == "true":
        threads = threads.filter(read_at__isnull=True)
    size = int(request.GET.get("page_size", 50))
    rows = list(threads.order_by("-updated_at", "-id").values(*FIELDS)[: size + 1])
    body = {"next": None, "previous": None, "results": rows[:size]}
    return HttpResponse(orjson.dumps(body), content_type="application/json")


urlpatterns = [
    path("bench/floor/notifications", floor_notifications, name="bench-floor-notifications"),
    *product_urlpatterns,
]
