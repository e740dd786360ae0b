from rest_framework import serializers

from accounts.serializers import UserSummarySerializer
from events.models import Event


class EventSerializer(serializers.ModelSerializer):
    project = serializers.CharField(
        source="project_key",
        read_only=True,
        help_text="The project's key; kept after the project is deleted. Empty for none.",
    )
    actor = UserSummarySerializer(read_only=True, allow_null=True)  # null once deleted
    data = serializers.JSONField(
        read_only=True,
        help_text="The resource as its GET answered at the time (a deleted one: as it was "
        "last); caller-specific fields, such as a project's `role`, are null.",
    )
    changes = serializers.JSONField(
        read_only=True,
        allow_null=True,
        help_text="For *.updated: the changed fields' old values. Null otherwise.",
    )

    bulk_id = serializers.UUIDField(
        read_only=True,
        allow_null=True,
        help_text="The batch (an import, a bulk edit) the change was part of: the same for "
        "each of its events. Null for a change made on its own.",
    )

    class Meta:
        model = Event
        fields = ["id", "type", "project", "actor", "created_at", "data", "changes", "bulk_id"]
        read_only_fields = fields
