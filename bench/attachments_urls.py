"""The product's URLs, plus the attachment list's data floor at /bench/floor/attachments.

The floor serves the same page as GET /api/v1/issues/{issue_key}/attachments (the same
rows of the issue, its visibility checked the same way, the same order and fields, the
URLs made by string formatting) read through .values() and encoded with orjson, for the
user named by `?user=`: no authentication, no DRF, no ETag, nothing but Django's request
cycle and the database. Nothing serving these rows can be cheaper.
"""

import orjson
from django.http import HttpResponse
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as product_urlpatterns

FIELDS = (
    "id",
    "comment_id",
    "filename",
    "size",
    "content_type",
    "sha256",
    "status",
    "reason",
    "created_at",
    "uploader__id",
    "uploader__username",
    "uploader__display_name",
    "uploader__type",
)


def floor_attachments(request):
    from accounts.models import User
    from attachments.models import Attachment
    from issues.models import Issue
    from projects.models import Project

    user = User.objects.get(pk=int(request.GET["user"]))
    key = request.GET["issue"]
    project_key, number = key.rsplit("-", 1)
    visible = Project.objects.visible_to(user).values("pk")
    issue = Issue.objects.values("pk").get(
        project__key=project_key, number=int(number), project__in=visible
    )
    size = int(request.GET.get("page_size", 50))
    attachments = Attachment.objects.filter(issue_id=issue["pk"])
    count = attachments.count()
    rows = list(attachments.order_by("created_at", "id").values(*FIELDS)[:size])
    base = request.build_absolute_uri("/api/v1/attachments/")
    for row in rows:
        row["issue"] = key
        row["url"] = f"{base}{row['id']}"
        row["download_url"] = f"{base}{row['id']}/content"
    body = {"count": count, "count_exact": True, "next": None, "previous": None, "results": rows}
    return HttpResponse(orjson.dumps(body), content_type="application/json")


urlpatterns = [
    path("bench/floor/attachments", floor_attachments, name="bench-floor-attachments"),
    *product_urlpatterns,
]
