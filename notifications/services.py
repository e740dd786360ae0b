"""What people change about their notifications: watching, marking threads, mail settings,
unsubscribing from a mail. (The outbox becomes notifications in consumer.py; mail goes
out in sending.py.)"""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from issues.models import Issue

from . import consumer, sending
from .models import (
    DEFAULT_DELIVERY,
    Delivery,
    IssueSubscription,
    NotificationSettings,
    ProjectSubscription,
    Thread,
)

User = get_user_model()


# -- watching ---------------------------------------------------------------------------------


def _issue_state(*, user, issue, state: str) -> IssueSubscription:
    subscription, _ = IssueSubscription.objects.update_or_create(
        user=user, issue=issue, defaults={"state": state}
    )
    return subscription


@transaction.atomic
def issue_watch(*, user, issue) -> IssueSubscription:
    """Watch an issue: hear of all its activity (undoes an unwatch)."""
    return _issue_state(user=user, issue=issue, state=IssueSubscription.State.WATCHING)


@transaction.atomic
def issue_unwatch(*, user, issue) -> IssueSubscription:
    """Stop hearing of an issue's activity, though its reporter, assignee or a commenter;
    remembered, so taking part again does not undo it (being assigned or mentioned still
    notifies)."""
    return _issue_state(user=user, issue=issue, state=IssueSubscription.State.UNWATCHED)


@transaction.atomic
def project_watch(*, user, project, level: str) -> ProjectSubscription:
    """Watch a project: all its activity, or only its new issues."""
    if level not in ProjectSubscription.Level.values:
        raise ValidationError(
            {"level": f"{level!r} is not one of {', '.join(ProjectSubscription.Level.values)}."}
        )
    subscription, _ = ProjectSubscription.objects.update_or_create(
        user=user, project=project, defaults={"level": level}
    )
    return subscription


@transaction.atomic
def project_unwatch(*, user, project) -> None:
    ProjectSubscription.objects.filter(user=user, project=project).delete()


# -- the inbox ---------------------------------------------------------------------------------


def _touched(user) -> None:
    consumer.inboxes_touch(user_ids=[user.pk])


@transaction.atomic
def thread_mark(*, thread: Thread, read: bool) -> Thread:
    """Mark a thread read (at most once: the first time counts) or unread again."""
    thread = Thread.objects.select_for_update().get(pk=thread.pk)
    if read and thread.read_at is None:
        thread.read_at = timezone.now()
    elif not read and thread.read_at is not None:
        thread.read_at = None
    else:
        return thread
    thread.save(update_fields=["read_at"])
    _touched(thread.user)
    return thread


@transaction.atomic
def thread_done(*, thread: Thread) -> None:
    """Mark a thread done: read, and out of the inbox until new activity brings it back."""
    now = timezone.now()
    changed = Thread.objects.filter(pk=thread.pk, done_at__isnull=True).update(
        done_at=now, read_at=thread.read_at or now
    )
    if changed:
        _touched(thread.user)


def before_checked(before, *, now: datetime | None = None):
    """`before` as mark-read takes it: a time not in the future, or an event id (>= 1)."""
    if before is None or isinstance(before, int):
        if isinstance(before, int) and before < 1:
            raise ValidationError({"before": "An event id is a whole number from 1."})
        return before
    if before > (now or timezone.now()):
        raise ValidationError({"before": "Give a time that is not in the future."})
    return before


@transaction.atomic
def threads_mark_read(*, user, threads, before: datetime | int | None = None) -> int:
    """Mark read the unread threads of `threads` (the caller's, as they may see them) whose
    latest activity is not after `before` (a time, or an event id); all without it. How
    many changed: asking again changes none."""
    before = before_checked(before)
    unread = threads.filter(user=user, read_at__isnull=True, done_at__isnull=True)
    if isinstance(before, int):
        unread = unread.filter(event_id__lte=before)
    elif before is not None:
        unread = unread.filter(updated_at__lte=before)
    changed = Thread.objects.filter(pk__in=unread.values("pk")).update(read_at=timezone.now())
    if changed:
        _touched(user)
    return changed


# -- mail settings ---------------------------------------------------------------------------


def settings_of(user) -> dict[str, str]:
    """Every reason's delivery for `user`: their choices over the defaults."""
    stored = NotificationSettings.objects.filter(user=user).values_list("email", flat=True).first()
    return {
        reason: (stored or {}).get(reason) or default
        for reason, default in DEFAULT_DELIVERY.items()
    }


@transaction.atomic
def settings_update(*, user, email: dict[str, str]) -> dict[str, str]:
    """Change how mail goes out for the reasons given; the others keep theirs."""
    errors = {}
    for reason, delivery in email.items():
        if reason not in DEFAULT_DELIVERY:
            errors[reason] = f"Not a reason; the reasons are {', '.join(DEFAULT_DELIVERY)}."
        elif delivery not in Delivery.values:
            errors[reason] = f"{delivery!r} is not one of {', '.join(Delivery.values)}."
    if errors:
        raise ValidationError(errors)
    row, _ = NotificationSettings.objects.select_for_update().get_or_create(user=user)
    row.email = {**row.email, **email}
    row.full_clean()
    row.save()
    return settings_of(user)


# -- unsubscribing from a mail -----------------------------------------------------------------


@transaction.atomic
def unsubscribe(*, payload: dict) -> str:
    """Do what a mail's unsubscribe link says (mail.unsubscribe_token); what was done, in
    a sentence. Idempotent."""
    user = User.objects.filter(pk=payload["u"], is_active=True).first()
    if user is None:
        return "There is nothing left to unsubscribe from."
    if payload.get("d"):
        choices = settings_of(user)
        daily = {reason: Delivery.NEVER for reason, d in choices.items() if d == Delivery.DAILY}
        if daily:
            settings_update(user=user, email=daily)
        return "You will get no more daily digests; your inbox still shows what concerns you."
    issues = list(Issue.objects.filter(pk__in=payload.get("i") or []))
    for issue in issues:
        issue_unwatch(user=user, issue=issue)
    return (
        f"You will no longer hear of activity on {_these(len(issues))}, unless you are "
        "assigned or mentioned. Watch again at any time "
        "(PUT /api/v1/issues/{issue_key}/subscription)."
    )


def _these(count: int) -> str:
    return "this issue" if count == 1 else f"these {count} issues"


def unsubscribe_question(*, payload: dict) -> str:
    """What the unsubscribe link would do, asked before doing it (mail scanners open links)."""
    if payload.get("d"):
        return "Stop the daily digest mails? Your inbox will still show what concerns you."
    count = Issue.objects.filter(pk__in=payload.get("i") or []).count()
    return (
        f"Stop hearing of activity on {_these(count)}? You will still hear of it when you "
        "are assigned or mentioned."
    )


# -- the beat -----------------------------------------------------------------------------------


def sweep(*, now: datetime | None = None) -> tuple[int, list[int]]:
    """The safety net: read the events a lost task left unread, and queue the mails due
    (retries, lost tasks, dead workers' sends). What it did."""
    read = consumer.events_consume()
    return read, sending.emails_due(now=now)
