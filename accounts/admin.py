from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError

from config.admin import ServiceRefusalsAsMessages
from projects.selectors import projects_owned_only_by

from . import services
from .models import RevokedAccessToken, TokenFamily, User


def _ensure_no_project_loses_its_owner(users) -> None:
    # Deleting a user deletes their memberships; a project must keep an owner.
    orphaned = projects_owned_only_by(users=users)
    if orphaned:
        keys = ", ".join(project.key for project in orphaned)
        raise ValidationError(
            f"The last owner of {keys} cannot be deleted; make someone else owner first, "
            "or deactivate the user instead."
        )


@admin.register(User)
class UserAdmin(ServiceRefusalsAsMessages, DjangoUserAdmin):
    list_display = ["username", "email", "display_name", "role", "is_active", "is_staff"]
    list_filter = ["role", "is_active", "is_staff", "is_superuser"]
    search_fields = ["username", "email", "display_name"]
    ordering = ["username"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Profile", {"fields": ("display_name", "email", "first_name", "last_name")}),
        ("Access", {"fields": ("role", "is_active", "is_staff", "is_superuser")}),
        (
            "Django permissions",
            {"classes": ["collapse"], "fields": ("groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ["wide"], "fields": ("username", "email", "password1", "password2")}),
    )
    actions = ["revoke_tokens"]

    def delete_model(self, request, obj):
        _ensure_no_project_loses_its_owner([obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        _ensure_no_project_loses_its_owner(queryset)
        super().delete_queryset(request, queryset)

    @admin.action(description="Revoke all tokens (sign out everywhere)")
    def revoke_tokens(self, request, queryset):
        total = sum(services.user_revoke_all_tokens(user=user) for user in queryset)
        self.message_user(request, f"Revoked {total} token families.", messages.SUCCESS)


@admin.register(TokenFamily)
class TokenFamilyAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "created_at", "expires_at", "revoked_at", "revoked_reason"]
    list_filter = ["revoked_reason"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    readonly_fields = [f.name for f in TokenFamily._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(RevokedAccessToken)
class RevokedAccessTokenAdmin(admin.ModelAdmin):
    list_display = ["jti", "user", "created_at", "expires_at"]
    search_fields = ["jti", "user__username"]
    list_select_related = ["user"]
    readonly_fields = ["jti", "user", "created_at", "expires_at"]

    def has_add_permission(self, request):
        return False
