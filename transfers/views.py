from django.conf import settings
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, throttling, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts.callers import Caller
from api.conditional import ConditionalMixin
from api.filters import StrictQueryMixin
from api.parsers import MultiPartParser
from api.throttling import FailOpenMixin
from projects.mixins import ProjectScopedMixin
from projects.permissions import CanViewProject, HasRights

from . import services
from .models import Export, Import
from .selectors import exports_visible, imports_visible
from .serializers import (
    DryRunSerializer,
    ExportCreateSerializer,
    ExportSerializer,
    ImportRequestSerializer,
    ImportSerializer,
)
from .storage import CONTENT_TYPES, download_name, download_signature_valid, transfers_storage

# What a multipart body adds to the file it carries (boundaries, the other fields).
UPLOAD_OVERHEAD = 64 * 1024


class ImportStartThrottle(FailOpenMixin, throttling.UserRateThrottle):
    """Imports started (and dry runs) per user: THROTTLE_IMPORTS."""

    scope = "imports"


@extend_schema(
    request=ExportCreateSerializer,
    responses={202: ExportSerializer},
)
class ProjectExportViewSet(
    StrictQueryMixin, ProjectScopedMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Exports of one project's issues."""

    queryset = Export.objects.none()  # for the schema
    serializer_class = ExportCreateSerializer
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    rights = {"create": "export_issues"}
    conflict_actions = ("create",)  # one export per person at a time

    def create(self, request, *args, **kwargs):
        """Export the project's issues that the filters select (the issue list's filters),
        as CSV or JSONL: a job writes the file; read the export (its URL is in `Location`)
        for its progress and, once done, a download link. One export at a time per person
        (409 `export_running` while another is queued or running)."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        export = services.export_create(
            project=self.get_project(), requested_by=request.user, **serializer.validated_data
        )
        data = ExportSerializer(export, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})


class ExportViewSet(StrictQueryMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """An export: its progress, and once done a link to its file."""

    serializer_class = ExportSerializer
    lookup_url_kwarg = "export_id"
    lookup_value_regex = "[0-9]+"
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    rights = {"retrieve": "view_export"}

    def get_queryset(self):
        return exports_visible(Caller.of(self.request))

    @extend_schema(
        summary="Get an export",
        description="Its status and progress; once done, `download_url` (which works until "
        "`download_expires_at`: read the export again for a new one). Only the person who "
        "asked for it and the project's maintainers and owners may read it.",
    )
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)


class ExportFileViewSet(StrictQueryMixin, viewsets.GenericViewSet):
    """An export's file, behind a signed link that expires (local storage; with S3 the link
    goes to the bucket itself)."""

    queryset = Export.objects.none()  # for the schema
    lookup_url_kwarg = "export_id"
    lookup_value_regex = "[0-9]+"
    # The link is for browsers and tools that hold no credentials: its signature is the
    # permission, so credentials sent along are neither needed nor checked.
    authentication_classes = []
    permission_classes = [AllowAny]
    signed_link = True  # an invalid or expired link is a 403 (api/schema.py)

    def query_parameters(self) -> set[str]:
        return super().query_parameters() | {"signature"}

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "signature",
                str,
                required=True,
                description="From the export's `download_url`; it expires.",
            )
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file."
            ),
        },
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def download(self, request, export_id=None):
        """The export's file, for the link in its `download_url` (no credentials: the link's
        signature is the permission, until it expires); 403 for a link that is not valid
        (any more)."""
        export = get_object_or_404(
            Export.objects.select_related("project"), pk=export_id, status=Export.Status.DONE
        )
        if not export.file:
            raise NotFound()
        if not download_signature_valid(export, request.query_params.get("signature", "")):
            raise PermissionDenied(
                "This download link is not valid, or has expired: read the export again for "
                "a new one."
            )
        response = FileResponse(
            transfers_storage().open(export.file, "rb"),
            as_attachment=True,
            filename=download_name(export),
            content_type=CONTENT_TYPES[export.format],
        )
        response["Cache-Control"] = "private, no-store"
        return response


@extend_schema(
    request={"multipart/form-data": ImportRequestSerializer},
    responses={200: DryRunSerializer, 202: ImportSerializer},
)
class ProjectImportViewSet(
    StrictQueryMixin, ProjectScopedMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Imports into one project."""

    queryset = Import.objects.none()  # for the schema
    serializer_class = ImportRequestSerializer
    parser_classes = [MultiPartParser]
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    rights = {"create": "import_issues"}
    conflict_actions = ("create",)  # one import per project at a time

    @classmethod
    def request_body_limit(cls, request, action) -> int | None:
        """An import's body may be as large as its file, IMPORT_MAX_BYTES (api.middleware)."""
        return settings.IMPORT_MAX_BYTES + UPLOAD_OVERHEAD if action == "create" else None

    def get_throttles(self):
        return [*super().get_throttles(), ImportStartThrottle()]

    def create(self, request, *args, **kwargs):
        """Import a file of issues (multipart: `file`, `format`, `dry_run`). With
        `dry_run=true`, the answer (200) is the report of what the import would do, and
        nothing changes. Otherwise the whole file is checked the same way first: a file that
        cannot be read, or any record refused, is a 400 naming the lines, and nothing is
        imported; else a job imports it (202; read the import, at `Location`, for its
        progress). Maintainers and owners; one import at a time per project (409)."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        arguments = {
            "project": self.get_project(),
            "importer": request.user,
            "format": data["format"],
            "upload": data["file"],
        }
        if data["dry_run"]:
            return Response(services.import_dry_run(**arguments))
        imp = services.import_create(**arguments)
        answer = ImportSerializer(imp, context=self.get_serializer_context()).data
        return Response(
            answer, status=status.HTTP_202_ACCEPTED, headers={"Location": answer["url"]}
        )


class ImportViewSet(
    StrictQueryMixin, ConditionalMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """An import: its progress and report."""

    serializer_class = ImportSerializer
    lookup_url_kwarg = "import_id"
    lookup_value_regex = "[0-9]+"
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    rights = {"retrieve": "view_imports"}
    etag_actions = ("retrieve",)
    if_match_actions = ()

    def get_queryset(self):
        return imports_visible(Caller.of(self.request))
