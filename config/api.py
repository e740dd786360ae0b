from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response
from rest_framework.reverse import reverse

# What the API root links to, by the name a client reads and the URL name.
ROOT_LINKS = {
    "projects": "project-list",
    "issues": "issue-list",
    "me": "me",
    "register": "auth-register",
    "login": "auth-login",
    "refresh": "auth-refresh",
    "logout": "auth-logout",
    "docs": "docs",
    "redoc": "redoc",
    "schema": "schema",
}


@extend_schema(responses={200: OpenApiTypes.OBJECT})
@api_view(["GET"])
@permission_classes([permissions.AllowAny])
def api_root(request, format=None):
    """The API's entry point: links to every top-level resource and the docs."""
    return Response({key: reverse(name, request=request) for key, name in ROOT_LINKS.items()})
