"""Each resource's `url`, its own address in this API (as GitHub's API gives one), so a
client follows links instead of building paths and the browsable API's lists link to
their rows' pages."""

from operator import attrgetter

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def detail_url(view_name: str, *args, request=None) -> str:
    """The URL of `view_name` for `args`: absolute for `request`, its path without one
    (a payload rendered outside a request, such as an event's)."""
    # Positional: a route's parameter names are its own business. Not DRF's reverse, which
    # would carry the request's `?format=` into every link.
    path = reverse(view_name, args=args)
    return path if request is None else request.build_absolute_uri(path)


def detail_urls(view_name: str, request=None):
    """detail_url for the rows of a list: `url(argument)`, reversed and made absolute once
    for the page instead of once per row. Only for an argument that a path carries as it
    is (an issue's key: letters, digits and a hyphen)."""
    marker = "__argument__"
    prefix, suffix = detail_url(view_name, marker, request=request).split(marker)
    return lambda argument: f"{prefix}{argument}{suffix}"


@extend_schema_field(OpenApiTypes.URI)
class DetailUrlField(serializers.Field):
    """The object's `detail_url`, its arguments read from the object (`"project.key"`);
    the request comes from the serializer's context."""

    def __init__(self, view_name: str, *attributes: str, **kwargs):
        self.view_name = view_name
        self.arguments = [attrgetter(attribute) for attribute in attributes]
        kwargs.setdefault("help_text", "This resource's URL in the API.")
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, instance):
        args = [argument(instance) for argument in self.arguments]
        return detail_url(self.view_name, *args, request=self.context.get("request"))
