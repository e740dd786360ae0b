"""Attachments: the files of an issue (`/issues/{issue_key}/attachments`) and of a
comment (`/comments/{comment_id}/attachments`), and one by id (`/attachments/{attachment_id}`,
its metadata, and `/content`, its bytes, served so that no file can run in a reader's
browser: attachments/storage.py)."""

from datetime import timedelta

from django.conf import settings
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.callers import Caller
from api.errors import Conflict
from api.filters import StrictQueryMixin
from api.pagination import FlexiblePagination
from api.parsers import JSONParser, MultiPartParser
from api.representation import utc_iso
from comments.models import Comment
from issues.mixins import IssueScopedMixin
from projects.models import Project
from projects.permissions import CanViewProject, HasRights

from . import services, storage
from .models import Attachment
from .selectors import attachments_visible_to
from .serializers import (
    AttachmentBeginSerializer,
    AttachmentBegunSerializer,
    AttachmentSerializer,
    AttachmentUploadSerializer,
    LimitsSerializer,
)

# Room for a multipart body's boundaries and headers around the file.
UPLOAD_OVERHEAD = 64 * 1024


class FileTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "file_too_large"

    def __init__(self):
        limit = settings.ATTACHMENT_MAX_BYTES
        super().__init__(f"The file is larger than the limit of {limit} bytes.")


class StoreUnavailable(APIException):
    """The object store did not answer (down, or refusing the service's keys)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The file store cannot be reached; retry shortly."
    default_code = "store_unavailable"


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
    parser_classes = [MultiPartParser, JSONParser, RawBodyParser]
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    rights = {"create": "attach"}
    conflict_actions = ("create",)  # a two-step upload where files are kept on disk

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
        request={
            "multipart/form-data": AttachmentUploadSerializer,
            "application/json": AttachmentBeginSerializer,
        },
        parameters=[
            OpenApiParameter(
                "filename", str, description="The file's name, for a raw-body upload."
            )
        ],
        responses={201: AttachmentBegunSerializer},
    )
    def create(self, request, *args, **kwargs):
        """Upload a file, in one request: `multipart/form-data` (a `file` field), or the raw
        body with its `Content-Type` (any but application/json) and the `?filename=` it is
        saved as. Streamed to the store; past ATTACHMENT_MAX_BYTES it is refused with 413
        and nothing is stored.

        With an S3 store (`attachment_direct_upload` in GET /api/v1/limits), large files go
        straight to the store in two steps: POST `{filename, size, content_type, sha256}`
        as JSON (a JSON body is always this promise); the answer's `upload` is a URL
        signed for exactly that size and type, valid for minutes, to PUT the file to with
        the headers it lists; then POST /api/v1/attachments/{attachment_id}/complete
        (without S3: 409 `direct_upload_unavailable`). The answer's `upload` is null for a
        one-request upload. Reporters and above."""
        content_type = request.content_type or ""
        if content_type.startswith("application/json"):
            # Always the promise: upload a JSON file as multipart or octet-stream.
            return self.begin(request)
        if content_type.startswith("multipart/form-data"):
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
        except storage.TooLarge as error:
            raise FileTooLarge() from error
        except storage.STORE_ERRORS as error:
            raise StoreUnavailable() from error
        except OSError as error:  # a body cut short
            raise ParseError("The upload was cut short.") from error
        answer = AttachmentSerializer(attachment, context=self.get_serializer_context()).data
        answer["upload"] = None  # uploaded: nothing more to send
        return Response(
            answer, status=status.HTTP_201_CREATED, headers={"Location": answer["url"]}
        )

    def begin(self, request):
        """A two-step upload's first step (create, with a JSON body)."""
        form = AttachmentBeginSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        if not storage.direct_transfers():
            raise Conflict(
                "This server keeps files on its own disk: upload the file in one request "
                "(multipart/form-data, or the raw body with ?filename=).",
                code="direct_upload_unavailable",
            )
        promised = form.validated_data
        attachment = services.attachment_begin(
            issue=self.get_issue(),
            comment=self.get_comment(),
            uploader=request.user,
            filename=promised["filename"],
            size=promised["size"],
            sha256=promised["sha256"],
        )
        lifetime = timedelta(seconds=settings.ATTACHMENT_UPLOAD_URL_SECONDS)
        answer = AttachmentSerializer(attachment, context=self.get_serializer_context()).data
        answer["upload"] = {
            "method": "PUT",
            "url": storage.upload_url(
                attachment.key, size=attachment.size, content_type=promised["content_type"]
            ),
            "headers": {
                "Content-Type": promised["content_type"],
                "Content-Length": str(attachment.size),
            },
            "expires_at": utc_iso(timezone.now() + lifetime),
        }
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
    http_method_names = ["get", "post", "delete", "head", "options"]
    permission_classes = [IsAuthenticated, CanViewProject, HasRights]
    rights = {"destroy": "delete_attachment", "complete": "complete_upload"}
    # content: not available (pending or rejected); complete: nothing uploaded yet.
    conflict_actions = ("content", "complete")

    def get_queryset(self):
        return attachments_visible_to(Caller.of(self.request))

    def perform_destroy(self, instance):
        services.attachment_delete(attachment=instance, actor=self.request.user)

    @extend_schema(request=None, responses={200: AttachmentSerializer})
    @action(detail=True, methods=["post"], url_path="complete", url_name="complete")
    def complete(self, request, *args, **kwargs):
        """The second step of a two-step upload, once the file is PUT to the store: the
        service checks the stored object has the promised size and SHA-256 and detects its
        type from its bytes, then the attachment is `available` (pending with a virus
        scanner), or `rejected` with the reason and its object deleted. 409
        `upload_missing` while nothing has been uploaded. Completing again answers the
        attachment as it is. Only its uploader."""
        attachment = self.get_object()
        try:
            attachment = services.attachment_complete(attachment=attachment)
        except storage.STORE_ERRORS as error:
            raise StoreUnavailable() from error
        return Response(self.get_serializer(attachment).data)

    @extend_schema(
        responses={
            **{
                (200, content_type): OpenApiTypes.BINARY
                for content_type in (*sorted(storage.INLINE_TYPES), "application/octet-stream")
            },
            302: OpenApiResponse(
                description="With an S3 store: to a signed URL of the file, valid for "
                "ATTACHMENT_DOWNLOAD_URL_SECONDS, answering the same headers."
            ),
        }
    )
    @action(detail=True, methods=["get"], url_path="content", url_name="content")
    def content(self, request, *args, **kwargs):
        """The file's bytes. Only raster images (PNG, JPEG, GIF, WebP, detected from the
        bytes) are served inline as themselves; everything else as an `attachment` of type
        application/octet-stream, always with `nosniff` and a sandboxing CSP. With an S3
        store, a 302 to a short-lived signed URL whose response overrides set the same
        Content-Disposition and Content-Type. A file not `available` (pending, or
        rejected) is a 409."""
        attachment = self.get_object()
        if attachment.status != Attachment.Status.AVAILABLE:
            raise Conflict(
                f"This attachment is {attachment.status}; it cannot be downloaded.",
                code="attachment_not_available",
            )
        if storage.direct_transfers():
            response = HttpResponseRedirect(
                storage.download_url(
                    attachment.key,
                    filename=attachment.filename,
                    content_type=attachment.content_type,
                )
            )
            response["Cache-Control"] = "private, no-store"
            return response
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
        return Response(
            {
                "attachment_max_bytes": settings.ATTACHMENT_MAX_BYTES,
                "attachment_direct_upload": storage.direct_transfers(),
            }
        )
