from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from api.admin import ReadOnlyAdmin, ServiceRefusalsAsMessages
from api.clients import client_ip
from projects.selectors import projects_owned_only_by

from . import services
from .models import PersonalAccessToken, RevokedAccessToken, TokenEvent, TokenFamily, User


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
    list_display = ["username", "email", "display_name", "type", "role", "is_active"]
    list_display += ["is_staff"]
    list_filter = ["type", "role", "is_active", "is_staff", "is_superuser"]
    search_fields = ["username", "email", "display_name"]
    ordering = ["username"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Profile", {"fields": ("display_name", "email", "first_name", "last_name")}),
        ("Access", {"fields": ("role", "is_active", "is_staff", "is_superuser", "sessions")}),
        # A bot's project is set when the project creates it, never changed (a bot belongs
        # to it, projects.services).
        ("Bot", {"fields": ("type", "bot_project")}),
        (
            "Django permissions",
            {"classes": ["collapse"], "fields": ("groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ["wide"], "fields": ("username", "email", "password1", "password2")}),
    )
    readonly_fields = ["sessions", "type", "bot_project"]
    actions = ["revoke_tokens"]

    @admin.display(description="sessions")
    def sessions(self, obj) -> str:
        """How many sessions the user has open, linking to the list where they are revoked."""
        if obj.pk is None:
            return "-"
        active = obj.token_families.filter(revoked_at=None, expires_at__gt=timezone.now())
        url = reverse("admin:accounts_tokenfamily_changelist")
        return format_html(
            '<a href="{}?user__id__exact={}&amp;state=active">{} active</a>'
            ' (<a href="{}?user__id__exact={}">all</a>)',
            url,
            obj.pk,
            active.count(),
            url,
            obj.pk,
        )

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


class SessionStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(revoked_at=None, expires_at__gt=now)
        if self.value() == "revoked":
            return queryset.exclude(revoked_at=None)
        if self.value() == "expired":
            return queryset.filter(revoked_at=None, expires_at__lte=now)
        return queryset


@admin.register(TokenFamily)
class TokenFamilyAdmin(admin.ModelAdmin):
    """A user's sessions: each login starts a family of refresh tokens, and revoking it
    signs that session out (its refresh token is refused from then on)."""

    list_display = ["id", "user", "state", "created_at", "expires_at", "revoked_at"]
    list_filter = [SessionStateFilter, "revoked_reason"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    readonly_fields = [f.name for f in TokenFamily._meta.fields]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="state")
    def state(self, obj) -> str:
        if obj.revoked_at is not None:
            return f"revoked ({obj.revoked_reason})"
        return "active" if obj.expires_at > timezone.now() else "expired"

    @admin.action(description="Revoke selected sessions (sign them out)", permissions=["change"])
    def revoke(self, request, queryset):
        revoked = services.token_families_revoke(families=queryset, reason="admin")
        self.message_user(request, f"Revoked {revoked} session(s).", messages.SUCCESS)


@admin.register(RevokedAccessToken)
class RevokedAccessTokenAdmin(admin.ModelAdmin):
    list_display = ["jti", "user", "created_at", "expires_at"]
    search_fields = ["jti", "user__username"]
    list_select_related = ["user"]
    readonly_fields = ["jti", "user", "created_at", "expires_at"]

    def has_add_permission(self, request):
        return False


# simplejwt's outstanding/blacklisted token tables are bookkeeping under the token
# families: a refresh token is accepted or refused by its family (accounts.tokens and
# token_refresh never consult the blacklist), so blacklisting a token there would sign no
# one out. Operators see and revoke sessions in one place, the families above.
admin.site.unregister(OutstandingToken)
admin.site.unregister(BlacklistedToken)


class TokenEventInline(admin.TabularInline):
    model = TokenEvent
    fields = readonly_fields = ["created_at", "kind", "actor", "ip"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PersonalAccessToken)
class PersonalAccessTokenAdmin(admin.ModelAdmin):
    """Personal access tokens: never their secrets (only hashes are kept), with their
    history of creation, first use and revocation."""

    list_display = ["prefix", "name", "user", "created_at", "expires_at", "last_used_at"]
    list_display += ["revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "user__type"]
    search_fields = ["prefix", "name", "user__username"]
    list_select_related = ["user"]
    exclude = ["token_hash"]
    readonly_fields = [
        f.name for f in PersonalAccessToken._meta.fields if f.name != "token_hash"
    ] + ["projects"]
    inlines = [TokenEventInline]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request, queryset):
        tokens = queryset.filter(revoked_at__isnull=True)
        for token in tokens:
            services.pat_revoke(token=token, actor=request.user, ip=client_ip(request))
        self.message_user(request, f"Revoked {len(tokens)} token(s).", messages.SUCCESS)


@admin.register(TokenEvent)
class TokenEventAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Who created, first used and revoked which personal access token, from where."""

    list_display = ["created_at", "kind", "token", "actor", "ip"]
    list_filter = ["kind"]
    search_fields = ["token__prefix", "token__user__username", "actor__username"]
    list_select_related = ["token", "actor"]
    readonly_fields = ["created_at", "kind", "token", "actor", "ip"]
    deletable = False
