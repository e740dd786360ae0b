"""OpenAPI descriptions drf-spectacular cannot derive by itself."""

from drf_spectacular.extensions import OpenApiSerializerExtension

from api.schema import AutoSchema


class ClosedObjectMixin:
    """A request body that refuses names it does not know (a 400 naming them), so the
    schema says so: additionalProperties false."""

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


class NotificationSettingsSerializerExtension(ClosedObjectMixin, OpenApiSerializerExtension):
    target_class = "notifications.serializers.NotificationSettingsSerializer"


class ProjectSubscriptionRequestExtension(ClosedObjectMixin, OpenApiSerializerExtension):
    target_class = "notifications.serializers.ProjectSubscriptionRequestSerializer"


class ThreadMarkSerializerExtension(OpenApiSerializerExtension):
    """A thread's PATCH body needs `read`, though PATCH bodies are otherwise optional."""

    target_class = "notifications.serializers.ThreadMarkSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["required"] = ["read"]
        return schema


class InboxSchema(AutoSchema):
    """The inbox's 304 costs no rate limit (it is answered before the throttle counts), so
    it carries no RateLimit-* headers, and it carries X-Poll-Interval as the 200 does."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        responses = (operation or {}).get("responses", {})
        if "304" in responses:
            ok = responses["200"].get("headers", {})
            responses["304"]["description"] = (
                "Not Modified: the inbox is unchanged since the ETag in If-None-Match. No "
                "body, and no rate limit spent (no RateLimit-* headers)."
            )
            responses["304"]["headers"] = {
                name: header
                for name, header in {**ok, **responses["304"].get("headers", {})}.items()
                if not name.startswith("RateLimit-")
            }
            responses["304"]["x-before-throttle"] = True  # api.schema: no RateLimit-*
        return operation
