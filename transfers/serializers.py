from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import UserSummarySerializer
from api.links import DetailUrlField
from issues.serializers import ProjectSummarySerializer

from .exporting import FILTERS, INCLUDES, SEARCH
from .models import Export, Import
from .storage import download_link

FILTER_NAMES = ", ".join(f"`{name}`" for name in [*FILTERS, SEARCH])


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {
            "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
        },
        "description": "The issue list's filters, as its query parameters: a string each, "
        "or a list for a repeatable one (`status`, `priority`, `label`). Taken: "
        f"{FILTER_NAMES}.",
        "example": {"status": ["open", "in_progress"], "assignee": "me", "label": ["ux"]},
    }
)
class FiltersField(serializers.JSONField):
    pass


class ExportCreateSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=Export.Format.choices)
    filters = FiltersField(required=False, default=dict)
    include = serializers.ListField(
        child=serializers.ChoiceField(choices=INCLUDES),
        required=False,
        default=list,
        max_length=len(INCLUDES),
        help_text="jsonl only: what comes with each issue besides its fields.",
    )
    bom = serializers.BooleanField(
        required=False,
        default=False,
        help_text="csv only: start the file with a UTF-8 byte order mark, so spreadsheets "
        "read it as UTF-8.",
    )


class ExportProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField(
        allow_null=True, help_text="Issues to write; null until the job has counted them."
    )
    written = serializers.IntegerField(help_text="Issues written so far.")


class ExportCountsSerializer(serializers.Serializer):
    issues = serializers.IntegerField(source="written")
    comments = serializers.IntegerField()
    history = serializers.IntegerField(help_text="History entries.")


class ExportSerializer(serializers.ModelSerializer):
    url = DetailUrlField("export-detail", "pk")
    project = ProjectSummarySerializer(read_only=True, allow_null=True)
    requested_by = UserSummarySerializer(read_only=True, allow_null=True)
    filters = FiltersField(read_only=True)
    include = serializers.ListField(child=serializers.ChoiceField(choices=INCLUDES))
    error = serializers.SerializerMethodField()
    progress = ExportProgressSerializer(source="*", read_only=True)
    counts = ExportCountsSerializer(source="*", read_only=True)
    download_url = serializers.SerializerMethodField()
    download_expires_at = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id",
            "url",
            "project",
            "requested_by",
            "format",
            "filters",
            "include",
            "bom",
            "status",
            "error",
            "progress",
            "counts",
            "size",
            "download_url",
            "download_expires_at",
            "created_at",
            "started_at",
            "finished_at",
            "expires_at",
        ]
        read_only_fields = fields

    def _link(self, export):
        if export.status != Export.Status.DONE or not export.file:
            return None, None
        if not hasattr(self, "_links"):
            self._links = {}
        if export.pk not in self._links:
            self._links[export.pk] = download_link(export, self.context["request"])
        return self._links[export.pk]

    def get_error(self, export) -> str | None:
        return export.error or None

    def get_download_url(self, export) -> str | None:
        """A link to the file, working until download_expires_at; null until done. Read
        the export again for a fresh one."""
        return self._link(export)[0]

    def get_download_expires_at(self, export) -> str | None:
        expires = self._link(export)[1]
        return serializers.DateTimeField().to_representation(expires) if expires else None


class ImportRequestSerializer(serializers.Serializer):
    # An empty file is the reader's to refuse, with the code every bad file has.
    file = serializers.FileField(
        allow_empty_file=True,
        help_text="The file: this service's jsonl export, a CSV with the documented header, "
        'or GitHub\'s issues JSON (README, "Export and import"). UTF-8, not compressed.',
    )
    format = serializers.ChoiceField(choices=Import.Format.choices)
    dry_run = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Answer what the import would do (200), changing nothing.",
    )


class ReportLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Where the issue starts in the file.")
    field = serializers.CharField()
    message = serializers.CharField()
    code = serializers.CharField()


class ReportSkipSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    external_id = serializers.CharField()
    reason = serializers.CharField()


class ReportWarningSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    field = serializers.CharField()
    message = serializers.CharField()


class ReportCreateSerializer(serializers.Serializer):
    issues = serializers.IntegerField()
    comments = serializers.IntegerField()
    history = serializers.IntegerField(help_text="History entries, the `imported` ones included.")
    labels = serializers.ListField(child=serializers.CharField(), help_text="New labels.")


class ReportMatchSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="As the file has it.")
    user = serializers.CharField(help_text="The username it matched.")


class ReportNoMatchSerializer(serializers.Serializer):
    name = serializers.CharField()
    records = serializers.IntegerField(help_text="Issues naming it.")
    becomes = serializers.CharField()


class ReportUsersSerializer(serializers.Serializer):
    matched = ReportMatchSerializer(many=True)
    unmatched = ReportNoMatchSerializer(many=True)
    matched_count = serializers.IntegerField()
    unmatched_count = serializers.IntegerField()


class ImportReportSerializer(serializers.Serializer):
    """What the import creates, refuses and skips; each list holds at most
    IMPORT_REPORT_ITEMS entries, its `_count` all of them."""

    format = serializers.ChoiceField(choices=Import.Format.choices)
    records = serializers.IntegerField(help_text="Issues in the file.")
    create = ReportCreateSerializer()
    refused = ReportLineSerializer(many=True)
    refused_count = serializers.IntegerField()
    skipped = ReportSkipSerializer(many=True)
    skipped_count = serializers.IntegerField()
    warnings = ReportWarningSerializer(many=True)
    warnings_count = serializers.IntegerField()
    users = ReportUsersSerializer()


class DryRunSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    format = serializers.ChoiceField(choices=Import.Format.choices)
    report = ImportReportSerializer()


class ImportProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Issues in the file.")
    processed = serializers.IntegerField(
        help_text="Issues done (created or skipped): the next batch starts after them."
    )


class ImportCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Issues created.")
    skipped = serializers.IntegerField(help_text="Already imported, or pull requests.")


class ImportSerializer(serializers.ModelSerializer):
    url = DetailUrlField("import-detail", "pk")
    project = ProjectSummarySerializer(read_only=True, allow_null=True)
    requested_by = UserSummarySerializer(read_only=True, allow_null=True)
    error = serializers.SerializerMethodField()
    progress = ImportProgressSerializer(source="*", read_only=True)
    counts = ImportCountsSerializer(source="*", read_only=True)
    report = ImportReportSerializer(source="report_or_none", read_only=True, allow_null=True)

    class Meta:
        model = Import
        fields = [
            "id",
            "url",
            "project",
            "requested_by",
            "format",
            "file_name",
            "size",
            "bulk_id",
            "status",
            "error",
            "progress",
            "counts",
            "report",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_error(self, imp) -> str | None:
        return imp.error or None
