from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse as url_for
from django.views.decorators.http import require_safe
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView
from rest_framework import permissions
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from api.filters import StrictQueryMixin

# What the API root links to, by the name a client reads and the URL name.
ROOT_LINKS = {
    "projects": "project-list",
    "issues": "issue-list",
    "events": "event-list",
    "me": "me",
    "register": "auth-register",
    "login": "auth-login",
    "refresh": "auth-refresh",
    "logout": "auth-logout",
    "docs": "docs",
    "redoc": "redoc",
    "schema": "schema",
}


class ApiRootView(StrictQueryMixin, APIView):
    """The API's entry point: links to every top-level resource and the docs."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, format=None):
        links = {key: reverse(name, request=request) for key, name in ROOT_LINKS.items()}
        return Response(links)


api_root = ApiRootView.as_view()


# What / points to: (name in the JSON index, URL name, title and what it is, for the page).
SITE_LINKS = [
    ("api", "api-root", "API root", "the JSON API, browsable in a browser"),
    ("docs", "docs", "API docs", "Swagger UI: try every operation"),
    ("redoc", "redoc", "API reference", "ReDoc: the same schema as a document"),
    ("schema", "schema", "OpenAPI schema", "for generating clients"),
    ("admin", "admin:index", "Admin", "the Django admin, for operators"),
]


@require_safe
def site_root(request):
    """`/`: links to the API, its docs and the admin; a page for browsers, JSON otherwise."""
    links = [
        {
            "name": name,
            "url": request.build_absolute_uri(url_for(url_name)),
            "title": title,
            "about": about,
        }
        for name, url_name, title, about in SITE_LINKS
    ]
    # Browsers put text/html first; clients such as curl send */* or ask for JSON.
    if request.headers.get("Accept", "").split(",")[0].strip().startswith("text/html"):
        return render(request, "root.html", {"links": links})
    return JsonResponse({link["name"]: link["url"] for link in links})


class RedocView(SpectacularRedocView):
    """ReDoc with every asset from this host: a template without Google's fonts, and a
    Content-Security-Policy that stops the Redocly logo ReDoc fetches from its CDN."""

    template_name = "docs/redoc.html"
    # styled-components writes <style> elements; search runs in a worker made from a blob.
    policy = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "worker-src 'self' blob:"
    )

    @extend_schema(exclude=True)  # as the view it extends: a page, not an API operation
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = self.policy
        return response
