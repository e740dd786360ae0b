"""Writes to attachments: a direct upload stored and recorded; a two-step upload begun
(the client PUTs the file straight to the store) and completed (the service checks what
arrived); a deletion whose stored object is removed after the transaction commits."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.callers import user_of
from api.errors import Conflict
from api.versions import lock_for_write
from config.celery import enqueue
from events.models import Event
from events.outbox import event_emit
from issues.events import event_record
from issues.models import Issue, IssueEvent
from projects.services import project_ensure_active

from . import scanning, storage
from .models import Attachment, ObjectDeletion
from .representation import attachment_representation

logger = logging.getLogger(__name__)


def attachment_upload(*, issue, uploader, filename: str, chunks, comment=None) -> Attachment:
    """Store an upload (an iterable of byte chunks) and record it: `available` once stored,
    or with a scanner configured `pending` until a task has it scanned. Refused before
    anything is stored in an archived project; storage.TooLarge past ATTACHMENT_MAX_BYTES,
    with nothing stored. Should the row not be written, the object is deleted again, so no
    file outlives its row."""
    scanned = scanning.scanner_configured()
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
                status=Attachment.Status.PENDING if scanned else Attachment.Status.AVAILABLE,
                reason=Attachment.AWAITING_SCAN if scanned else "",
                **stored,
            )
            _count(attachment, +1)
            _announce(attachment, uploader, Event.Type.ATTACHMENT_CREATED)
            if scanned:
                pk = attachment.pk
                transaction.on_commit(lambda: enqueue("attachments.tasks.scan", pk))
    except BaseException:
        storage.delete_object(key)
        raise
    return attachment


class UploadMissing(Conflict):
    """The store has no object for a two-step upload yet: the client has not PUT it."""

    message = "The file has not been uploaded yet: PUT it to the upload URL, then complete."
    code = "upload_missing"


@transaction.atomic
def attachment_begin(
    *, issue, uploader, filename: str, size: int, sha256: str, comment=None
) -> Attachment:
    """The first step of a two-step upload: a pending row for the file the client is about
    to PUT straight to the store (storage.upload_url), promising its size and SHA-256.
    Listed, and counted in the issue's attachment_count, from now on; announced once
    complete. Never completed, the beat's sweep deletes it after ATTACHMENT_PENDING_HOURS."""
    project_ensure_active(project=issue.project)
    attachment = Attachment.objects.create(
        issue=issue,
        comment=comment,
        uploader=uploader,
        key=Attachment.new_key(),
        filename=storage.safe_filename(filename),
        size=size,
        sha256=sha256.lower(),
        status=Attachment.Status.PENDING,
        reason=Attachment.AWAITING_UPLOAD,
    )
    _count(attachment, +1)
    return attachment


def attachment_complete(*, attachment: Attachment) -> Attachment:
    """The second step: check the object the client PUT to the store (its size, then its
    SHA-256 and type from its bytes, read as a stream) and make the upload `available`
    (or, with a scanner, pending its scan), or `rejected` saying why, its object deleted.
    UploadMissing while there is no object. Completing again changes nothing."""
    if attachment.reason != Attachment.AWAITING_UPLOAD:
        return attachment
    project_ensure_active(project=attachment.issue.project)
    found = storage.stored_size(attachment.key)
    if found is None:
        raise UploadMissing
    measured, refusal = None, None
    if found != attachment.size:
        refusal = f"The stored file is {found} bytes, not the {attachment.size} promised."
    else:
        try:
            measured = storage.measure(storage.read_chunks(attachment.key), attachment.size)
        except storage.TooLarge:  # replaced by a larger one since
            refusal = f"The stored file is larger than the {attachment.size} bytes promised."
        else:
            if measured["sha256"] != attachment.sha256:
                refusal = (
                    f"The stored file's SHA-256 is {measured['sha256']}, "
                    f"not the {attachment.sha256} promised."
                )
    scanned = scanning.scanner_configured()
    with transaction.atomic():
        attachment = lock_for_write(
            Attachment.objects.select_related("issue__project", "uploader"), attachment.pk
        )
        if attachment.reason != Attachment.AWAITING_UPLOAD:
            return attachment  # completed meanwhile, by another request
        if refusal:
            attachment.status, attachment.reason = Attachment.Status.REJECTED, refusal
            attachment.save(update_fields=["status", "reason"])
            _forget_object(attachment.key)
            return attachment
        attachment.content_type = measured["content_type"]
        if scanned:
            attachment.reason = Attachment.AWAITING_SCAN
            pk = attachment.pk
            transaction.on_commit(lambda: enqueue("attachments.tasks.scan", pk))
        else:
            attachment.status, attachment.reason = Attachment.Status.AVAILABLE, ""
        attachment.save(update_fields=["content_type", "status", "reason"])
        _announce(attachment, attachment.uploader, Event.Type.ATTACHMENT_CREATED)
    return attachment


def _forget_object(key: str) -> None:
    """The stored object goes once the transaction commits (by a task; the sweep retries)."""
    ObjectDeletion.objects.get_or_create(key=key)
    transaction.on_commit(lambda: enqueue("attachments.tasks.delete_objects"))


@transaction.atomic
def attachment_delete(*, attachment: Attachment, actor=None) -> None:
    """Delete the row; the stored object goes once the deletion is committed
    (attachment_removed, called for every deleted row). An upload never completed was
    never announced, so its deletion is not either."""
    attachment = lock_for_write(
        Attachment.objects.select_related("issue__project", "uploader"), attachment.pk
    )
    project_ensure_active(project=attachment.issue.project)
    actor = user_of(actor) if actor is not None else None
    if attachment.reason != Attachment.AWAITING_UPLOAD:
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
    _forget_object(attachment.key)


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


def attachment_scan(*, attachment_id: int) -> str | None:
    """Have a pending upload scanned: `available` if clean; `rejected` with the reason if
    not, its object deleted. While the scanner cannot answer it stays pending, for the
    sweep to try again. Answers the new status (None: unchanged)."""
    attachment = Attachment.objects.filter(
        pk=attachment_id, status=Attachment.Status.PENDING, reason=Attachment.AWAITING_SCAN
    ).first()
    if attachment is None:
        return None  # scanned already, or deleted
    try:
        verdict = scanning.scan(storage.read_chunks(attachment.key))
    except scanning.ScannerUnavailable:
        logger.warning("Scanner unavailable; attachment %s stays pending", attachment_id)
        return None
    with transaction.atomic():
        pending = Attachment.objects.select_for_update().filter(
            pk=attachment_id, status=Attachment.Status.PENDING
        )
        if verdict.clean:
            changed = pending.update(status=Attachment.Status.AVAILABLE, reason="")
            return Attachment.Status.AVAILABLE if changed else None
        if not pending.update(status=Attachment.Status.REJECTED, reason=verdict.reason):
            return None
        # Never downloadable: the bytes go, the row stays to say why.
        _forget_object(attachment.key)
    return Attachment.Status.REJECTED


def attachments_scan_pending() -> int:
    """Queue a scan of every upload still waiting for one (the scanner was down)."""
    waiting = Attachment.objects.filter(
        status=Attachment.Status.PENDING, reason=Attachment.AWAITING_SCAN
    ).values_list("pk", flat=True)
    count = 0
    for pk in waiting:
        enqueue("attachments.tasks.scan", pk)
        count += 1
    return count


def attachments_forget_pending(*, older_than=None) -> int:
    """Delete pending uploads started before `older_than` (by default
    ATTACHMENT_PENDING_HOURS ago) and never completed, with their objects."""
    if older_than is None:
        older_than = timezone.now() - timedelta(hours=settings.ATTACHMENT_PENDING_HOURS)
    # Not those waiting for the scanner: they are stored, and wait for it however long.
    stale = Attachment.objects.filter(
        status=Attachment.Status.PENDING, created_at__lt=older_than
    ).exclude(reason=Attachment.AWAITING_SCAN)
    count = 0
    for attachment in stale:
        attachment_delete(attachment=attachment)
        count += 1
    return count


def attachments_sweep() -> None:
    """The beat's: pending uploads expired, scans the scanner could not make tried again,
    and object deletions a task did not finish."""
    attachments_forget_pending()
    if scanning.scanner_configured():
        attachments_scan_pending()
    objects_delete_due()
