"""Every app mounts its own URLs; this file only says where (by module name, so the
configuration imports no app)."""

from django.contrib import admin
from django.urls import include, path

api_patterns = [
    path("", include("api.urls")),
    path("", include("accounts.urls")),
    path("", include("projects.urls")),
    path("", include("issues.urls")),
    path("", include("comments.urls")),
    path("", include("attachments.urls")),
    path("", include("feed.urls")),
    path("", include("webhooks.urls")),
    path("", include("transfers.urls")),
    path("", include("notifications.urls")),
]

urlpatterns = [
    path("", include("api.site_urls")),
    path("", include("accounts.site_urls")),
    path("", include("notifications.site_urls")),
    path("api/v1/", include(api_patterns)),
    path("api/v1/session/", include("rest_framework.urls", namespace="rest_framework")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "Issue Tracker administration"
admin.site.site_title = "Issue Tracker admin"
admin.site.index_title = "Operations"

handler400 = "api.exceptions.bad_request"
handler403 = "api.exceptions.permission_denied"
handler404 = "api.exceptions.not_found"
handler500 = "api.exceptions.server_error"
