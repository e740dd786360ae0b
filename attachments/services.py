"""Writes to attachments: a direct upload stored and recorded, a deletion whose stored
object is removed after the transaction commits."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from api.versions import lock_for_write
from config.celery import enqueue
from projects.services import project_ensure_active

from . import storage
from .models import Attachment, ObjectDeletion

logger = logging.getLogger(__name__)


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
    """Delete the row; the stored object goes once the deletion is committed
    (object_deletion_record, called for every deleted row)."""
    attachment = lock_for_write(Attachment.objects.select_related("issue__project"), attachment.pk)
    project_ensure_active(project=attachment.issue.project)
    attachment.delete()


def object_deletion_record(*, key: str) -> None:
    """After an attachment's row is deleted, in its transaction (a post_delete receiver,
    attachments/apps.py: cascades from a comment, an issue or a project included): its
    object is to be deleted, by a task queued once the deletion commits. A rolled-back
    deletion takes the record with it, and the object stays."""
    ObjectDeletion.objects.get_or_create(key=key)
    transaction.on_commit(lambda: enqueue("attachments.tasks.delete_objects"))


def objects_delete_due(*, limit: int = 500) -> int:
    """Delete the stored objects whose rows are gone (ObjectDeletion), oldest first; an
    object the store cannot delete now stays recorded, for the next run. Safe to run twice
    at once: each record is taken under a lock the other run skips."""
    deleted = 0
    for pk in ObjectDeletion.objects.order_by("pk").values_list("pk", flat=True)[:limit]:
        with transaction.atomic():
            record = ObjectDeletion.objects.select_for_update(skip_locked=True).filter(pk=pk)
            record = record.first()
            if record is None:
                continue  # another run has it, or has done it
            try:
                storage.delete_object(record.key)
            except Exception:
                logger.warning("Could not delete stored object %s", record.key, exc_info=True)
                ObjectDeletion.objects.filter(pk=pk).update(attempts=F("attempts") + 1)
                continue
            record.delete()
            deleted += 1
    return deleted


def attachments_forget_pending(*, older_than=None) -> int:
    """Delete pending uploads started before `older_than` (by default
    ATTACHMENT_PENDING_HOURS ago) and never completed, with their objects."""
    if older_than is None:
        older_than = timezone.now() - timedelta(hours=settings.ATTACHMENT_PENDING_HOURS)
    stale = Attachment.objects.filter(status=Attachment.Status.PENDING, created_at__lt=older_than)
    count = 0
    for attachment in stale:
        attachment_delete(attachment=attachment)
        count += 1
    return count


def attachments_sweep() -> None:
    """The beat's: pending uploads expired, and object deletions a task did not finish."""
    attachments_forget_pending()
    objects_delete_due()
