"""Mail: closing batches of mail items into Emails, sending each with retries, pruning.

A person's open items with one key (an issue, or a bulk change) form a batch. It closes
once activity pauses (NOTIFY_*_QUIET) or it has been open long enough (NOTIFY_*_MAX), the
shorter "immediately" windows when any item asks for it; the daily digest closes every
person's "daily" items at NOTIFY_DIGEST_HOUR. A closed batch is one Email row (pending),
so a person never gets more than one mail per batch, and what must not be lost is in a
table before any task is queued. A send claims its attempt with one conditional UPDATE (a
task that runs twice sends once) for a lease; if the worker dies, the lease runs out and
the sweeper queues it again. That is the one way a mail can go out twice: the SMTP
server took it and the worker died before recording so.
"""

import logging
import smtplib
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Exists, F, IntegerField, Max, Min, OuterRef, Q, Subquery, When
from django.utils import timezone

from config.celery import enqueue

from . import mail
from .models import Delivery, Email, MailItem

logger = logging.getLogger(__name__)

SEND_TASK = "notifications.tasks.send_email"
CLOSE_BATCH = 500  # batches closed per run
SWEEP_GRACE = timedelta(seconds=5)
SWEEP_BATCH = 500


def _queue(email_ids) -> None:
    for email_id in email_ids:
        enqueue(SEND_TASK, email_id)


def batches_close(*, now: datetime | None = None) -> list[int]:
    """Close the batches whose time has come into Emails; their ids (queued to send)."""
    now = now or timezone.now()
    s = settings
    urgent = Max(
        Case(When(delivery=Delivery.IMMEDIATELY, then=1), default=0, output_field=IntegerField())
    )
    groups = (
        MailItem.objects.filter(email__isnull=True)
        .exclude(delivery=Delivery.DAILY)
        .values("user_id", "key")
        .annotate(first=Min("created_at"), last=Max("created_at"), top=Max("id"), urgent=urgent)
        .filter(
            Q(
                urgent=1,
                last__lte=now - timedelta(seconds=s.NOTIFY_IMMEDIATE_QUIET),
            )
            | Q(urgent=1, first__lte=now - timedelta(seconds=s.NOTIFY_IMMEDIATE_MAX))
            | Q(urgent=0, last__lte=now - timedelta(seconds=s.NOTIFY_BATCH_QUIET))
            | Q(urgent=0, first__lte=now - timedelta(seconds=s.NOTIFY_BATCH_MAX))
        )
        .order_by("first")[:CLOSE_BATCH]
    )
    return _close(list(groups), now)


def digests_close(*, now: datetime | None = None) -> list[int]:
    """Close everyone's daily digest (their "daily" items so far) into Emails."""
    now = now or timezone.now()
    groups = (
        MailItem.objects.filter(email__isnull=True, delivery=Delivery.DAILY)
        .values("user_id", "key")
        .annotate(top=Max("id"))
        .order_by("user_id")
    )
    return _close(list(groups), now)


def _close(groups: list[dict], now: datetime) -> list[int]:
    """One Email per group of open items (user, key, up to item `top`); items a concurrent
    closing took already are left to it. In a constant number of statements."""
    if not groups:
        return []
    closing = uuid.uuid4().hex
    with transaction.atomic():
        Email.objects.bulk_create(
            [
                Email(
                    user_id=group["user_id"],
                    key=group["key"],
                    closing=closing,
                    last_item_id=group["top"],
                    next_attempt_at=now,
                )
                for group in groups
            ]
        )
        made = Email.objects.filter(
            closing=closing,
            user_id=OuterRef("user_id"),
            key=OuterRef("key"),
            last_item_id__gte=OuterRef("pk"),
        )
        MailItem.objects.filter(email__isnull=True).filter(Exists(made)).update(
            email=Subquery(made.values("pk")[:1])
        )
        # A concurrent closing that got there first took these batches' items.
        Email.objects.filter(closing=closing).exclude(
            Exists(MailItem.objects.filter(email=OuterRef("pk")))
        ).delete()
        ids = list(Email.objects.filter(closing=closing).values_list("pk", flat=True))
        transaction.on_commit(lambda: _queue(ids), robust=True)
    return ids


# -- sending ---------------------------------------------------------------------------------


def _lease() -> timedelta:
    """How long an attempt may take before the sweeper may try again: by default the SMTP
    timeout for connecting and for each command, with room to spare."""
    seconds = settings.NOTIFY_EMAIL_LEASE or (settings.EMAIL_TIMEOUT or 30) * 3 + 30
    return timedelta(seconds=seconds)


def _refused_for_good(error: Exception) -> bool:
    """A 5xx answer: the server will not take this message, retrying cannot help."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def _retry_at(email: Email, now: datetime) -> datetime | None:
    """When to try again, or None once NOTIFY_EMAIL_GIVE_UP_HOURS have passed."""
    if now - email.created_at > timedelta(hours=settings.NOTIFY_EMAIL_GIVE_UP_HOURS):
        return None
    schedule = settings.NOTIFY_EMAIL_RETRY_SCHEDULE or [60]
    seconds = schedule[min(email.attempts, len(schedule)) - 1]
    return now + timedelta(seconds=seconds)


def email_send(*, email_id: int, now: datetime | None = None) -> Email | None:
    """Send the mail if it is due and no one else is sending it; record the outcome."""
    now = now or timezone.now()
    claimed = Email.objects.filter(
        pk=email_id, status=Email.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + _lease(), attempts=F("attempts") + 1, last_attempt_at=now)
    if not claimed:
        return None
    email = Email.objects.select_related("user").get(pk=email_id)
    items = mail.items_to_send(email)
    if not items:
        email.status, email.next_attempt_at = Email.Status.CANCELLED, None
        email.error = "Nothing left the person may still see or wants by mail."
        email.save()
        return email
    message = mail.render(email, items)
    email.recipient, email.subject = message.to[0], message.subject
    try:
        message.send()
    except Exception as error:  # the SMTP server (or the way to it) failed
        email.error = f"{type(error).__name__}: {error}"[:500]
        retry = None if _refused_for_good(error) else _retry_at(email, now)
        if retry is None:
            email.status, email.next_attempt_at = Email.Status.FAILED, None
            logger.warning("Mail %s failed for good: %s", email.pk, email.error)
        else:
            email.next_attempt_at = retry
            logger.info("Mail %s not sent (%s); retrying at %s", email.pk, email.error, retry)
    else:
        email.status, email.sent_at, email.next_attempt_at = Email.Status.SENT, now, None
        email.error = ""
    email.save()
    return email


def emails_due(*, now: datetime | None = None) -> list[int]:
    """Queue the pending mails whose attempt is due (a lost task, a retry, a dead worker's
    lease that ran out); their ids."""
    cutoff = (now or timezone.now()) - SWEEP_GRACE
    due = list(
        Email.objects.filter(status=Email.Status.PENDING, next_attempt_at__lte=cutoff)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    _queue(due)
    return due


@transaction.atomic
def email_retry(*, email: Email) -> Email:
    """Send a failed or cancelled mail again from the start (the admin's action)."""
    email.status, email.attempts, email.next_attempt_at = Email.Status.PENDING, 0, timezone.now()
    email.error = ""
    email.save()
    transaction.on_commit(lambda: _queue([email.pk]), robust=True)
    return email


def emails_prune(*, now: datetime | None = None) -> int:
    """Delete mails sent or given up more than NOTIFY_EMAIL_RETENTION_DAYS ago (their
    items with them); how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.NOTIFY_EMAIL_RETENTION_DAYS)
    _, deleted = (
        Email.objects.exclude(status=Email.Status.PENDING).filter(created_at__lt=cutoff).delete()
    )
    return deleted.get(Email._meta.label, 0)
