from django.conf import settings
from django.core.validators import MinLengthValidator
from django.db import models


class Comment(models.Model):
    """A Markdown comment on an issue, stored as given."""

    issue = models.ForeignKey("issues.Issue", on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="comments"
    )
    body = models.TextField(max_length=20_000, validators=[MinLengthValidator(1)])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    edited = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["issue", "created_at", "id"], name="comment_issue_time")]

    def __str__(self):
        return f"Comment {self.pk} on issue {self.issue_id}"
