from rest_framework import serializers

from accounts.serializers import UserSummarySerializer
from api.fields import StrictModelSerializer
from api.links import DetailUrlField, detail_urls

from .models import Comment
from .representation import COMMENT_URL, comment_data


class CommentSerializer(StrictModelSerializer):
    url = DetailUrlField("comment-detail", "pk")
    issue = serializers.CharField(source="issue.key", read_only=True)
    author = UserSummarySerializer(read_only=True, allow_null=True)  # null once deleted

    class Meta:
        model = Comment
        fields = ["id", "url", "issue", "author", "body", "created_at", "updated_at", "edited"]
        read_only_fields = ["id", "issue", "author", "created_at", "updated_at", "edited"]
        extra_kwargs = {"body": {"trim_whitespace": False}}

    def to_representation(self, comment):
        # Built in comments/representation.py (which says why); the declared fields still
        # describe the schema. A page's comments share one reversed URL (api.links).
        if not hasattr(self, "_url"):
            self._url = detail_urls(COMMENT_URL, self.context.get("request"))
        return comment_data(comment, self._url)

    def validate_body(self, value):
        if not value.strip():
            raise serializers.ValidationError("A comment cannot be blank.", code="blank")
        return value
