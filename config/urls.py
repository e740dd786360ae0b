from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.views import JWKSView
from config import health, metrics
from config.api import RedocView, api_root, site_root

api_patterns = [
    path("", api_root, name="api-root"),
    path("", include("accounts.urls")),
    path("", include("projects.urls")),
    path("", include("issues.urls")),
    path("", include("comments.urls")),
    path("", include("events.urls")),
    path("", include("webhooks.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
]

urlpatterns = [
    path("", site_root, name="site-root"),
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
    # Prometheus scrapes /metrics inside the cluster, with METRICS_TOKEN; the ingress does
    # not route it.
    path("metrics", metrics.metrics, name="metrics"),
    path(".well-known/jwks.json", JWKSView.as_view(), name="jwks"),
    path("api/v1/", include(api_patterns)),
    path("api/v1/session/", include("rest_framework.urls", namespace="rest_framework")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "Issue Tracker administration"
admin.site.site_title = "Issue Tracker admin"
admin.site.index_title = "Operations"

handler400 = "config.exceptions.bad_request"
handler403 = "config.exceptions.permission_denied"
handler404 = "config.exceptions.not_found"
handler500 = "config.exceptions.server_error"
