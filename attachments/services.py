"""Writes to attachments: a direct upload stored and recorded, a deletion whose stored
object is removed after the transaction commits."""

from django.db import transaction
from django.utils import timezone

from api.versions import lock_for_write
from projects.services import project_ensure_active

from . import storage
from .models import Attachment


def attachment_upload(*, issue, uploader, filename: str, chunks, comment=None) -> Attachment:
    """Store an upload (an iterable of byte chunks) and record it, `available` once stored.
    Refused before anything is stored in an archived project; storage.TooLarge past
    ATTACHMENT_MAX_BYTES, with nothing stored. Should the row not be written, the object is
    deleted again, so no file outlives its row."""
    project_ensure_active(project=issue.project)
    key = Attachment.new_key()
    stored = storage.store_stream(chunks, key)
    try:
        with transaction.atomic():
            project_ensure_active(project=issue.project)
            attachment = Attachment.objects.create(
                issue=issue,
                comment=comment,
                uploader=uploader,
                key=key,
                filename=storage.safe_filename(filename),
                status=Attachment.Status.AVAILABLE,
                **stored,
            )
    except BaseException:
        storage.delete_object(key)
        raise
    return attachment


@transaction.atomic
def attachment_delete(*, attachment: Attachment, actor=None) -> None:
    """Delete the row; the stored object goes once the deletion is committed."""
    attachment = lock_for_write(Attachment.objects.select_related("issue__project"), attachment.pk)
    project_ensure_active(project=attachment.issue.project)
    key = attachment.key
    attachment.delete()
    transaction.on_commit(lambda: storage.delete_object(key))


def attachments_forget_pending(*, older_than) -> int:
    """Delete pending uploads started before `older_than` and never completed."""
    stale = Attachment.objects.filter(
        status=Attachment.Status.PENDING, created_at__lt=older_than or timezone.now()
    )
    count = 0
    for attachment in stale:
        attachment_delete(attachment=attachment)
        count += 1
    return count
