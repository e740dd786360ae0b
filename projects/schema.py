"""OpenAPI descriptions drf-spectacular cannot derive by itself."""

from drf_spectacular.extensions import OpenApiSerializerExtension


class MembershipRoleSerializerExtension(OpenApiSerializerExtension):
    """A membership's PATCH body needs its role, though PATCH bodies are otherwise optional."""

    target_class = "projects.serializers.MembershipRoleSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["required"] = ["role"]
        return schema
