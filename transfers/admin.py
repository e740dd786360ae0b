from django.contrib import admin

from api.admin import ReadOnlyAdmin

from .models import Export, Import


class _Record(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only: the jobs write these; operators look (and may delete an export)."""

    list_select_related = ["project", "requested_by"]
    list_filter = ["status", "format"]
    search_fields = ["project__key", "requested_by__username"]
    show_full_result_count = False


@admin.register(Export)
class ExportAdmin(_Record):
    list_display = [
        "id",
        "project",
        "requested_by",
        "format",
        "status",
        "written",
        "total",
        "created_at",
        "expires_at",
    ]


@admin.register(Import)
class ImportAdmin(_Record):
    list_display = [
        "id",
        "project",
        "requested_by",
        "format",
        "status",
        "processed",
        "total",
        "created",
        "skipped",
        "created_at",
    ]

    def has_delete_permission(self, request, obj=None):
        # A running import is its job's; a finished one goes with IMPORT_RETENTION_DAYS.
        return False
