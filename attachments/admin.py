from django.contrib import admin

from api.admin import ReadOnlyAdmin

from .models import Attachment


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only: uploads write these; operators look."""

    list_display = ["id", "issue", "comment", "filename", "size", "content_type", "status"]
    list_select_related = ["issue"]
    list_filter = ["status"]
    search_fields = ["filename", "sha256", "issue__project__key"]
    raw_id_fields = ["issue", "comment", "uploader"]
    show_full_result_count = False
