from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from api.conditional import ConditionalMixin
from api.filters import StrictQueryMixin
from projects.mixins import ProjectScopedMixin
from projects.permissions import CanViewProject, HasRights

from . import services
from .models import Delivery, Webhook
from .serializers import (
    DeliveryDetailSerializer,
    DeliverySerializer,
    PingResultSerializer,
    WebhookSerializer,
    WebhookWithSecretSerializer,
)

# Reading webhooks and their deliveries still works on an archived project; changes do not.
READING = dict.fromkeys(("list", "retrieve", "metadata"), "view_webhooks")


@extend_schema_view(
    list=extend_schema(summary="List the project's webhooks"),
    create=extend_schema(
        summary="Add a webhook (the answer shows its secret, once)",
        responses={201: WebhookWithSecretSerializer},
    ),
    retrieve=extend_schema(summary="Get a webhook"),
    partial_update=extend_schema(
        summary="Change a webhook (active=true turns a disabled one back on)",
    ),
    destroy=extend_schema(summary="Delete a webhook"),
)
class WebhookViewSet(
    StrictQueryMixin,
    ConditionalMixin,
    ProjectScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """URLs that receive the project's events, signed per Standard Webhooks; maintainers
    and owners manage them."""

    queryset = Webhook.objects.none()  # for the schema; get_queryset() scopes to the project
    serializer_class = WebhookSerializer
    lookup_url_kwarg = "webhook_id"
    lookup_value_regex = "[0-9]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    rights = READING | dict.fromkeys(
        ("create", "update", "partial_update", "destroy", "ping", "rotate_secret"),
        "manage_webhooks",
    )

    def get_queryset(self):
        return Webhook.objects.filter(project=self.get_project()).select_related(
            "created_by", "project"
        )

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook = services.webhook_create(
            project=self.get_project(), creator=request.user, **serializer.validated_data
        )
        data = WebhookWithSecretSerializer(webhook, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        serializer.instance = services.webhook_update(
            webhook=serializer.instance, expected=self.expected(), **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.webhook_delete(webhook=instance, expected=self.expected())

    @extend_schema(
        summary="Send a webhook.ping now and answer what the receiver said",
        request=None,
        responses=PingResultSerializer,
    )
    @action(detail=True, methods=["post"])
    def ping(self, request, *args, **kwargs):
        """Send a webhook.ping event to the webhook now and answer what the receiver said."""
        answer = services.webhook_ping(webhook=self.get_object())
        result = {
            "succeeded": answer.status is not None and 200 <= answer.status < 300,
            "response_status": answer.status,
            "response_body": answer.body,
            "duration_ms": answer.duration_ms,
            "error": answer.error,
        }
        return Response(PingResultSerializer(result).data)

    @extend_schema(
        summary="Replace the secret (the old one still signs for a grace period)",
        request=None,
        responses=WebhookWithSecretSerializer,
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, *args, **kwargs):
        """Replace the webhook's signing secret; the old one keeps signing for a grace period."""
        webhook = services.webhook_rotate_secret(
            webhook=self.get_object(), expected=self.expected()
        )
        data = WebhookWithSecretSerializer(webhook, context=self.get_serializer_context()).data
        return Response(data)


@extend_schema_view(
    list=extend_schema(
        summary="List a webhook's deliveries, newest first",
    ),
    retrieve=extend_schema(
        summary="Get a delivery with its last request and answer",
    ),
)
class DeliveryViewSet(
    StrictQueryMixin,
    ProjectScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """What was sent to a webhook, kept WEBHOOK_DELIVERY_RETENTION_DAYS."""

    queryset = Delivery.objects.none()  # for the schema; get_queryset() scopes to the webhook
    serializer_class = DeliverySerializer
    lookup_url_kwarg = "delivery_id"
    lookup_value_regex = "[0-9]+"
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    conflict_actions = ("redeliver",)  # a delivery that is still being sent
    rights = READING | {"redeliver": "manage_webhooks"}

    def get_webhook(self) -> Webhook:
        if not hasattr(self, "_webhook"):
            self._webhook = get_object_or_404(
                Webhook.objects.filter(project=self.get_project()), pk=self.kwargs["webhook_id"]
            )
        return self._webhook

    def get_queryset(self):
        return Delivery.objects.filter(webhook=self.get_webhook()).select_related(
            "event", "webhook__project"
        )

    def get_serializer_class(self):
        return DeliverySerializer if self.action == "list" else DeliveryDetailSerializer

    @extend_schema(
        summary="Send a delivery again, from its first attempt (same webhook-id)",
        request=None,
        responses={202: DeliveryDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def redeliver(self, request, *args, **kwargs):
        """Send the delivery again from its first attempt, with the same webhook-id."""
        delivery = services.delivery_redeliver(delivery=self.get_object())
        return Response(DeliveryDetailSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
