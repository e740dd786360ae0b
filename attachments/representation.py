"""An attachment as clients read it: the one place its JSON is built (the API and the
events' payloads)."""

from django.urls import reverse

from accounts.representation import user_summary
from api.representation import utc_iso


def attachment_representation(attachment, request=None) -> dict:
    """An attachment (read with its uploader and issue) as its GET answers it; without a
    request (an event's payload) its URLs are paths."""

    def absolute(path):
        return request.build_absolute_uri(path) if request is not None else path

    kwargs = {"attachment_id": attachment.pk}
    return {
        "id": attachment.pk,
        "url": absolute(reverse("attachment-detail", kwargs=kwargs)),
        "issue": attachment.issue.key,
        "comment": attachment.comment_id,
        "filename": attachment.filename,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "sha256": attachment.sha256,
        "status": attachment.status,
        "reason": attachment.reason,
        "uploader": user_summary(attachment.uploader),
        "created_at": utc_iso(attachment.created_at),
        "download_url": absolute(reverse("attachment-content", kwargs=kwargs)),
    }
