from django.conf import settings
from django.core.validators import RegexValidator
from rest_framework import serializers

from accounts.serializers import UserSummarySerializer

from .models import Attachment
from .representation import attachment_representation


class AttachmentSerializer(serializers.ModelSerializer):
    """An attachment's metadata (built in attachments/representation.py; the declared
    fields describe the schema)."""

    url = serializers.URLField(read_only=True)
    issue = serializers.CharField(source="issue.key", read_only=True)
    comment = serializers.IntegerField(source="comment_id", read_only=True, allow_null=True)
    uploader = UserSummarySerializer(read_only=True, allow_null=True)
    download_url = serializers.URLField(read_only=True)

    class Meta:
        model = Attachment
        fields = [
            "id",
            "url",
            "issue",
            "comment",
            "filename",
            "size",
            "content_type",
            "sha256",
            "status",
            "reason",
            "uploader",
            "created_at",
            "download_url",
        ]
        read_only_fields = fields

    def to_representation(self, attachment):
        return attachment_representation(attachment, self.context.get("request"))


class AttachmentUploadSerializer(serializers.Serializer):
    """A direct upload as multipart/form-data: the file, and optionally its name."""

    # An empty file is still a file (an empty log says something too).
    file = serializers.FileField(allow_empty_file=True)
    filename = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        help_text="The name it is saved as; blank or absent: the uploaded file's own name.",
    )


class AttachmentBeginSerializer(serializers.Serializer):
    """The first step of a two-step upload (S3): the file the client is about to PUT."""

    filename = serializers.CharField(max_length=255, help_text="The name it is saved as.")
    size = serializers.IntegerField(
        min_value=0, help_text="Its exact size in bytes; at most ATTACHMENT_MAX_BYTES."
    )
    content_type = serializers.CharField(
        max_length=100,
        validators=[
            RegexValidator(
                r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$",
                "A media type such as image/png or text/plain, without parameters.",
            )
        ],
        help_text="The Content-Type the PUT will send (the type served is detected).",
    )
    sha256 = serializers.RegexField(
        r"^[0-9a-fA-F]{64}$",
        error_messages={"invalid": "The file's SHA-256, as 64 hexadecimal digits."},
        help_text="The file's SHA-256, in hexadecimal; checked when the upload completes.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # For the schema (its `maximum`), from the setting as it is now; validate_size
        # checks it with the limit's own message and code.
        self.fields["size"].max_value = settings.ATTACHMENT_MAX_BYTES

    def validate_size(self, size):
        limit = settings.ATTACHMENT_MAX_BYTES
        if size > limit:
            raise serializers.ValidationError(
                f"The file is larger than the limit of {limit} bytes.", code="file_too_large"
            )
        return size


class UploadInstructionsSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=["PUT"])
    url = serializers.URLField(help_text="Signed for this size and type; PUT the file here.")
    headers = serializers.DictField(
        child=serializers.CharField(),
        help_text="Send exactly these headers with the PUT (the signature covers them).",
    )
    expires_at = serializers.DateTimeField(help_text="The URL stops working then.")


class AttachmentBegunSerializer(AttachmentSerializer):
    """An attachment, and for a two-step upload how to PUT its file to the store."""

    upload = UploadInstructionsSerializer(
        read_only=True,
        allow_null=True,
        help_text=(
            "For a two-step upload's first step: PUT the file as this says, then POST "
            "/api/v1/attachments/{attachment_id}/complete. Null for a one-request upload."
        ),
    )

    class Meta(AttachmentSerializer.Meta):
        fields = [*AttachmentSerializer.Meta.fields, "upload"]
        read_only_fields = fields


class LimitsSerializer(serializers.Serializer):
    attachment_max_bytes = serializers.IntegerField(
        help_text="The largest attachment taken, in bytes."
    )
    attachment_direct_upload = serializers.BooleanField(
        help_text=(
            "Whether files may go straight to the store in two steps (POST the file's "
            "filename, size, content_type and sha256 as JSON; PUT it to the URL answered; "
            "POST .../complete). Otherwise they are uploaded to the API in one request."
        )
    )
