from rest_framework import serializers

from accounts.serializers import UserSummarySerializer
from config.fields import StrictModelSerializer
from config.links import DetailUrlField

from .models import Comment


class CommentSerializer(StrictModelSerializer):
    url = DetailUrlField("comment-detail", "pk")
    issue = serializers.CharField(source="issue.key", read_only=True)
    author = UserSummarySerializer(read_only=True, allow_null=True)  # null once deleted

    class Meta:
        model = Comment
        fields = ["id", "url", "issue", "author", "body", "created_at", "updated_at", "edited"]
        read_only_fields = ["id", "issue", "author", "created_at", "updated_at", "edited"]
        extra_kwargs = {"body": {"trim_whitespace": False}}

    def validate_body(self, value):
        if not value.strip():
            raise serializers.ValidationError("A comment cannot be blank.", code="blank")
        return value
