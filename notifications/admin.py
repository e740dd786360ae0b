"""Operators see each person's notification settings and the mail waiting to go out (or
sent, or given up), and may send a failed mail again."""

from django.contrib import admin, messages

from api.admin import ReadOnlyAdmin

from . import sending
from .models import DEFAULT_DELIVERY, Email, MailItem, NotificationSettings


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    """Read-only: a person changes their own (PATCH /me/notification-settings)."""

    list_display = ["user", "summary", "updated_at"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    readonly_fields = ["user", "effective", "updated_at"]
    fields = ["user", "email", "effective", "updated_at"]

    @admin.display(description="mail per reason")
    def summary(self, obj):
        choices = {**DEFAULT_DELIVERY, **(obj.email or {})}
        return ", ".join(f"{reason}: {delivery}" for reason, delivery in choices.items())

    @admin.display(description="in effect (defaults for what is not set)")
    def effective(self, obj):
        return self.summary(obj)

    def has_add_permission(self, request):
        return False  # a row appears when a person changes a setting

    def has_change_permission(self, request, obj=None):
        return False


class MailItemInline(admin.TabularInline):
    model = MailItem
    fields = ["reason", "delivery", "issue", "event", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Email)
class EmailAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["id", "user", "status", "subject", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["status"]
    search_fields = ["user__username", "user__email", "subject", "recipient"]
    list_select_related = ["user"]
    readonly_fields = [
        "user",
        "key",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "sent_at",
        "recipient",
        "subject",
        "error",
        "created_at",
    ]
    exclude = ["closing", "last_item_id"]
    inlines = [MailItemInline]
    actions = ["send_again"]

    @admin.action(description="Send again (failed or cancelled mails)")
    def send_again(self, request, queryset):
        again = 0
        for email in queryset.exclude(status__in=[Email.Status.PENDING, Email.Status.SENT]):
            sending.email_retry(email=email)
            again += 1
        self.message_user(request, f"{again} mail(s) queued to send again.", messages.SUCCESS)
