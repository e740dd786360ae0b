from rest_framework import serializers

from accounts.serializers import UserSummarySerializer
from api.fields import StrictModelSerializer, utc_iso
from api.links import DetailUrlField, detail_urls

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

    def to_representation(self, comment):
        # Written out by hand, as IssueSerializer's is: a page of comments through DRF's
        # field-by-field machinery cost more than its query. The declared fields still
        # describe the schema; a test keeps this equal to what they would give.
        if not hasattr(self, "_url"):  # reversed once for a page (api.links)
            self._url = detail_urls("comment-detail", self.context.get("request"))
        author = comment.author
        return {
            "id": comment.id,
            "url": self._url(comment.pk),
            "issue": comment.issue.key,
            "author": (
                None
                if author is None
                else {name: getattr(author, name) for name in UserSummarySerializer.Meta.fields}
            ),
            "body": comment.body,
            "created_at": utc_iso(comment.created_at),
            "updated_at": utc_iso(comment.updated_at),
            "edited": comment.edited,
        }

    def validate_body(self, value):
        if not value.strip():
            raise serializers.ValidationError("A comment cannot be blank.", code="blank")
        return value
