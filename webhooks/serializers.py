from rest_framework import serializers

from api.fields import StrictCharField, StrictModelSerializer
from events.models import Event

from .models import Delivery, Webhook

WEBHOOK_FIELDS = [
    "id",
    "url",
    "event_types",
    "active",
    "description",
    "disabled_reason",
    "consecutive_failures",
    "previous_secret_expires_at",
    "created_by",
    "created_at",
    "updated_at",
]


class WebhookSerializer(StrictModelSerializer):
    """A webhook as maintainers read it; never its secret."""

    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.Type.choices),
        required=False,
        help_text="Event types sent to this URL; empty or left out: all of them.",
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Webhook
        fields = WEBHOOK_FIELDS
        read_only_fields = [
            "id",
            "disabled_reason",
            "consecutive_failures",
            "previous_secret_expires_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "url": {"help_text": "Where events are POSTed: http or https, a public address."}
        }


class WebhookWithSecretSerializer(WebhookSerializer):
    """A webhook just made, or its secret just rotated: the only answers with the secret."""

    secret = StrictCharField(
        read_only=True,
        help_text="whsec_ + base64 key for verifying signatures (Standard Webhooks). "
        "Shown only now; keep it.",
    )

    class Meta(WebhookSerializer.Meta):
        fields = [*WEBHOOK_FIELDS, "secret"]


class PingResultSerializer(serializers.Serializer):
    """What the receiver answered to a `webhook.ping`."""

    succeeded = serializers.BooleanField()
    response_status = serializers.IntegerField(allow_null=True)
    response_body = serializers.CharField()
    duration_ms = serializers.IntegerField()
    error = serializers.CharField()


class DeliverySerializer(serializers.ModelSerializer):
    webhook_id = serializers.CharField(
        source="message_id", read_only=True, help_text="The `webhook-id` header sent."
    )
    event_type = serializers.CharField(source="event.type", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "event_type",
            "webhook_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "response_status",
            "duration_ms",
            "error",
            "created_at",
        ]
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    """A delivery with the last attempt's request and (the start of) its answer."""

    class Meta(DeliverySerializer.Meta):
        fields = [
            *DeliverySerializer.Meta.fields,
            "request_headers",
            "request_body",
            "response_body",
        ]
        read_only_fields = fields
