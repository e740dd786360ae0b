from django.contrib import admin, messages

from api.admin import ReadOnlyAdmin, ServiceRefusalsAsMessages, VersionedForm
from api.errors import DomainError
from api.versions import row_version

from . import services
from .models import Delivery, Webhook


class WebhookAdminForm(VersionedForm):
    # Deliveries change a webhook's failures (and may turn it off) without its updated_at.
    version_of = staticmethod(row_version)


@admin.register(Webhook)
class WebhookAdmin(ServiceRefusalsAsMessages, admin.ModelAdmin):
    form = WebhookAdminForm
    list_display = ["id", "project", "url", "active", "consecutive_failures", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "project__key", "description"]
    list_select_related = ["project"]
    # The secrets sign requests; nobody reads them back, here or in the API.
    exclude = ["secret", "previous_secret"]
    readonly_fields = [
        "project",
        "url",
        "event_types",
        "previous_secret_expires_at",
        "consecutive_failures",
        "disabled_reason",
        "created_by",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request):
        return False  # made through the API, which checks the URL and shows the secret

    def save_model(self, request, obj, form, change):
        # Through the service: turning a webhook back on forgets its failures.
        services.webhook_update(
            webhook=obj,
            expected=form.expected(),
            active=obj.active,
            description=obj.description,
        )


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["id", "webhook", "event", "status", "attempts", "response_status"]
    list_filter = ["status"]
    list_select_related = ["webhook", "event"]
    search_fields = ["webhook__url", "webhook__project__key"]
    actions = ["redeliver"]
    readonly_fields = [f.name for f in Delivery._meta.fields]

    @admin.action(description="Redeliver the selected deliveries")
    def redeliver(self, request, queryset):
        done = 0
        for delivery in queryset.select_related("webhook__project"):
            try:
                services.delivery_redeliver(delivery=delivery)
                done += 1
            except DomainError as error:
                self.message_user(request, f"{delivery}: {error.message}", messages.WARNING)
        self.message_user(request, f"{done} deliveries queued again.")
