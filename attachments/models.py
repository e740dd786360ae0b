"""A file attached to an issue or to one of its comments (Attachment). Its bytes live in
the `attachments` storage (attachments/storage.py), under a key made here, never from the
name the client gave."""

import uuid

from django.conf import settings
from django.db import models


class Attachment(models.Model):
    """One stored file. `pending` until its bytes are checked (and scanned, when a scanner
    is configured); `available` may be downloaded; `rejected` never, with the reason."""

    class Status(models.TextChoices):
        PENDING = "pending"
        AVAILABLE = "available"
        REJECTED = "rejected"

    # The reason of a pending upload the scanner has not yet passed (ATTACHMENT_SCANNER).
    AWAITING_SCAN = "Waiting for the virus scan."
    # The reason of a two-step upload whose file the client has yet to PUT to the store
    # and complete (then `size` and `sha256` are what the client promised).
    AWAITING_UPLOAD = "Waiting for the upload."

    issue = models.ForeignKey("issues.Issue", on_delete=models.CASCADE, related_name="attachments")
    # Set when the file belongs to a comment (then `issue` is the comment's issue).
    comment = models.ForeignKey(
        "comments.Comment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # The object's key in the storage: made from a random id, never from `filename`.
    key = models.CharField(max_length=200, unique=True, editable=False)
    filename = models.CharField(max_length=255)
    size = models.BigIntegerField()
    # Detected from the first bytes (attachments/storage.py, detect_type), not claimed.
    content_type = models.CharField(max_length=100, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["issue", "created_at", "id"], name="attachment_issue_time"),
            models.Index(fields=["status", "created_at"], name="attachment_status_time"),
        ]

    def __str__(self):
        return f"Attachment {self.pk} ({self.filename})"

    @staticmethod
    def new_key() -> str:
        return f"a/{uuid.uuid4().hex}"


class ObjectDeletion(models.Model):
    """A stored object whose row is gone, to delete from the storage: written in the same
    transaction as the row's deletion (however it went: the attachment, its comment, its
    issue or its project), so the deletion is recorded exactly when it commits. A Celery
    task deletes the object once it commits; the beat's sweep retries what is left (a
    worker killed, a store down)."""

    key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"Delete {self.key}"
