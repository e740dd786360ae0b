from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register(
    r"projects/(?P<project_key>[^/]+)/webhooks", views.WebhookViewSet, basename="webhook"
)
router.register(
    r"projects/(?P<project_key>[^/]+)/webhooks/(?P<webhook_id>[0-9]+)/deliveries",
    views.DeliveryViewSet,
    basename="webhook-delivery",
)

urlpatterns = router.urls
