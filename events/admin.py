from django.contrib import admin

from api.admin import ReadOnlyAdmin

from .models import Event


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only: events record what happened; only the services write them."""

    list_display = ["id", "type", "project_key", "actor", "created_at", "dispatched_at"]
    list_filter = ["type"]
    search_fields = ["project_key", "actor__username"]
    list_select_related = ["actor"]
    show_full_result_count = False

    deletable = False
