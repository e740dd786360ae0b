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


class LimitsSerializer(serializers.Serializer):
    attachment_max_bytes = serializers.IntegerField(
        help_text="The largest attachment taken, in bytes."
    )
