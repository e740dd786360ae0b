"""Attachments: the files of an issue (`/issues/{issue_key}/attachments`) and of a
comment (`/comments/{comment_id}/attachments`), and one by id (`/attachments/{attachment_id}`,
its metadata, and `/content`, its bytes, served so that no file can run in a reader's
browser: attachments/storage.py)."""

from django.conf import settings
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.callers import Caller
from api.filters import StrictQueryMixin
from api.pagination import FlexiblePagination
from comments.models import Comment
from issues.mixins import IssueScopedMixin
from projects.models import Project
from projects.permissions import CanViewProject, HasRights

from . import services, storage
from .models import Attachment
from .selectors import attachments_visible_to
from .serializers import AttachmentSerializer, AttachmentUploadSerializer, LimitsSerializer

# Room for a multipart body's boundaries and headers around the file.
UPLOAD_OVERHEAD = 64 * 1024


class RawBodyParser(BaseParser):
    """Accepts any other body: a raw upload, read by the view as a stream."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):  # pragma: no cover
        return {}


def _raw_chunks(request):
    while chunk := request.read(storage.CHUNK):
        yield chunk


class UploadMixin:
    """List and upload the attachments of what the URL names (get_issue, get_comment)."""

    serializer_class = AttachmentSerializer
    pagination_class = FlexiblePagination
    parser_classes = [MultiPartParser, RawBodyParser]
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    rights = {"create": "attach"}

    def get_comment(self):
        return None

    def query_parameters(self) -> set[str]:
        accepted = super().query_parameters()
        return accepted | {"filename"} if self.action == "create" else accepted

    @classmethod
    def request_body_limit(cls, request, action) -> int | None:
        """An upload may be as large as ATTACHMENT_MAX_BYTES (api.middleware)."""
        return settings.ATTACHMENT_MAX_BYTES + UPLOAD_OVERHEAD if action == "create" else None

    def get_queryset(self):
        issue = self.get_issue()
        found = Attachment.objects.filter(issue=issue).select_related("uploader")
        comment = self.get_comment()
        found = found.filter(comment=comment) if comment else found
        return found.order_by("created_at", "id")

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        for attachment in page if page is not None else []:
            attachment.issue = self.get_issue()  # read once for the page
        return page

    @extend_schema(
        request={"multipart/form-data": AttachmentUploadSerializer},
        parameters=[
            OpenApiParameter(
                "filename", str, description="The file's name, for a raw-body upload."
            )
        ],
        responses={201: AttachmentSerializer},
    )
    def create(self, request, *args, **kwargs):
        """Upload a file, in one request: `multipart/form-data` (a `file` field), or the raw
        body with its `Content-Type` and the `?filename=` it is saved as. Streamed to the
        store; past ATTACHMENT_MAX_BYTES it is refused with 413 and nothing is stored.
        Reporters and above."""
        if (request.content_type or "").startswith("multipart/form-data"):
            form = AttachmentUploadSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            upload = form.validated_data["file"]
            filename = form.validated_data.get("filename") or upload.name
            chunks = upload.chunks(storage.CHUNK)
        else:
            filename = request.query_params.get("filename", "")
            if not filename.strip():
                raise ValidationError(
                    {"filename": ["A raw-body upload names its file: ?filename=..."]}
                )
            chunks = _raw_chunks(request._request)
        try:
            attachment = services.attachment_upload(
                issue=self.get_issue(),
                comment=self.get_comment(),
                uploader=request.user,
                filename=filename,
                chunks=chunks,
            )
        except storage.TooLarge:
            limit = settings.ATTACHMENT_MAX_BYTES
            return Response(
                {
                    "detail": f"The file is larger than the limit of {limit} bytes.",
                    "code": "file_too_large",
                },
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        except OSError as error:  # a body cut short
            raise ParseError("The upload was cut short.") from error
        answer = AttachmentSerializer(attachment, context=self.get_serializer_context()).data
        return Response(
            answer, status=status.HTTP_201_CREATED, headers={"Location": answer["url"]}
        )


class IssueAttachmentViewSet(
    UploadMixin,
    StrictQueryMixin,
    IssueScopedMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """The files attached to one issue (and to its comments), oldest first."""

    queryset = Attachment.objects.none()  # for the schema


class CommentAttachmentViewSet(
    UploadMixin,
    StrictQueryMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """The files attached to one comment, oldest first."""

    queryset = Attachment.objects.none()  # for the schema

    def get_comment(self):
        if not hasattr(self, "_comment"):
            visible = Project.objects.visible_to(Caller.of(self.request)).values("pk")
            comments = Comment.objects.filter(issue__project__in=visible).select_related(
                "issue__project"
            )
            self._comment = get_object_or_404(comments, pk=self.kwargs["comment_id"])
        return self._comment

    def get_issue(self):
        return self.get_comment().issue

    def get_project(self):
        return self.get_issue().project


class AttachmentViewSet(
    StrictQueryMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """A file by id: its metadata; its uploader, or a maintainer or owner, deletes it."""

    serializer_class = AttachmentSerializer
    lookup_url_kwarg = "attachment_id"
    lookup_value_regex = "[0-9]+"
    http_method_names = ["get", "delete", "head", "options"]
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    rights = {"destroy": "delete_attachment"}
    conflict_actions = ("content",)  # not available (pending or rejected)

    def get_queryset(self):
        return attachments_visible_to(Caller.of(self.request))

    def perform_destroy(self, instance):
        services.attachment_delete(attachment=instance, actor=self.request.user)

    @extend_schema(
        responses={
            (200, content_type): OpenApiTypes.BINARY
            for content_type in (*sorted(storage.INLINE_TYPES), "application/octet-stream")
        }
    )
    @action(detail=True, methods=["get"], url_path="content", url_name="content")
    def content(self, request, *args, **kwargs):
        """The file's bytes. Only raster images (PNG, JPEG, GIF, WebP, detected from the
        bytes) are served inline as themselves; everything else as an `attachment` of type
        application/octet-stream, always with `nosniff` and a sandboxing CSP. A file not
        `available` (pending, or rejected by the scanner) is a 409."""
        attachment = self.get_object()
        if attachment.status != Attachment.Status.AVAILABLE:
            return Response(
                {
                    "detail": f"This attachment is {attachment.status}; it cannot be downloaded.",
                    "code": "attachment_not_available",
                },
                status=status.HTTP_409_CONFLICT,
            )
        response = StreamingHttpResponse(
            storage.read_chunks(attachment.key),
            content_type=storage.serving_type(attachment.content_type),
        )
        response["Content-Length"] = str(attachment.size)
        response["Content-Disposition"] = storage.content_disposition(
            attachment.filename, attachment.content_type
        )
        for header, value in storage.SAFE_HEADERS.items():
            response[header] = value
        response["Cache-Control"] = "private, no-store"
        return response


class LimitsView(StrictQueryMixin, APIView):
    """The limits clients must respect, from the settings that enforce them: the largest
    attachment taken, in bytes (ATTACHMENT_MAX_BYTES)."""

    permission_classes = [AllowAny]
    uses_database = False

    @extend_schema(responses={200: LimitsSerializer})
    def get(self, request, format=None):
        return Response({"attachment_max_bytes": settings.ATTACHMENT_MAX_BYTES})
