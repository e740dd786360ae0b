"""Writes to attachments: a direct upload stored and recorded, a deletion whose stored
object is removed after the transaction commits."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.callers import user_of
from api.versions import lock_for_write
from config.celery import enqueue
from events.models import Event
from events.outbox import event_emit
from issues.events import event_record
from issues.models import Issue, IssueEvent
from projects.services import project_ensure_active

from . import storage
from .models import Attachment, ObjectDeletion
from .representation import attachment_representation

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
            _count(attachment, +1)
            _announce(attachment, uploader, Event.Type.ATTACHMENT_CREATED)
    except BaseException:
        storage.delete_object(key)
        raise
    return attachment


@transaction.atomic
def attachment_delete(*, attachment: Attachment, actor=None) -> None:
    """Delete the row; the stored object goes once the deletion is committed
    (attachment_removed, called for every deleted row)."""
    attachment = lock_for_write(
        Attachment.objects.select_related("issue__project", "uploader"), attachment.pk
    )
    project_ensure_active(project=attachment.issue.project)
    actor = user_of(actor) if actor is not None else None
    _announce(attachment, actor, Event.Type.ATTACHMENT_DELETED)
    attachment.delete()


def _announce(attachment: Attachment, actor, type: str) -> None:
    """The event (feed, webhooks, notifications) and the entry in the issue's history."""
    created = type == Event.Type.ATTACHMENT_CREATED
    event_record(
        issue=attachment.issue,
        actor=actor,
        kind=IssueEvent.Kind.ATTACHED if created else IssueEvent.Kind.DETACHED,
        field="attachment",
        **{"new_value" if created else "old_value": attachment.filename},
    )
    event_emit(
        type=type,
        project=attachment.issue.project,
        actor=actor,
        data=attachment_representation(attachment),
    )


def _count(attachment: Attachment, change: int) -> None:
    """The issue's attachment_count, in step with its rows (in the same transaction)."""
    issues = Issue.objects.filter(pk=attachment.issue_id)
    if change < 0:  # never below none, whatever a row made elsewhere left it at
        issues = issues.filter(attachment_count__gte=-change)
    issues.update(attachment_count=F("attachment_count") + change)


def attachment_removed(*, attachment: Attachment) -> None:
    """After an attachment's row is deleted, in its transaction (a post_delete receiver,
    attachments/apps.py: cascades from a comment, an issue or a project included): its
    issue counts one fewer, and its object is to be deleted, by a task queued once the
    deletion commits. A rolled-back deletion takes both with it, and the object stays."""
    _count(attachment, -1)
    ObjectDeletion.objects.get_or_create(key=attachment.key)
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
