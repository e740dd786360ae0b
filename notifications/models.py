"""Who watches what, each person's inbox (one thread per issue) and the mail it becomes.

Everything here is derived from the outbox (events.Event) by the consumer in services.py;
the API only reads it, marks threads and changes settings and subscriptions.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Reason(models.TextChoices):
    """Why a person hears of a change (README, "Notifications": who hears of what)."""

    ASSIGNED = "assigned"
    MENTIONED = "mentioned"
    REVIEW_REQUESTED = "review_requested"
    STATE_CHANGED = "state_changed"
    COMMENTED = "commented"
    SUBSCRIBED = "subscribed"


class Delivery(models.TextChoices):
    """How a person's mail for one reason goes out."""

    IMMEDIATELY = "immediately"  # within a minute
    BATCHED = "batched"  # per issue, once activity pauses
    DAILY = "daily"  # in the daily digest
    NEVER = "never"  # inbox only


# Mentions and assignments within a minute; other activity batched.
DEFAULT_DELIVERY: dict[str, str] = {
    reason.value: delivery.value
    for reason, delivery in [
        (Reason.ASSIGNED, Delivery.IMMEDIATELY),
        (Reason.MENTIONED, Delivery.IMMEDIATELY),
        (Reason.REVIEW_REQUESTED, Delivery.BATCHED),
        (Reason.STATE_CHANGED, Delivery.BATCHED),
        (Reason.COMMENTED, Delivery.BATCHED),
        (Reason.SUBSCRIBED, Delivery.BATCHED),
    ]
}


class IssueSubscription(models.Model):
    """How one person stands to one issue's notifications, beyond being its reporter,
    assignee or a commenter: watching it, mentioned in it, or having unwatched it (which
    is remembered: nothing makes them a participant again but watching it)."""

    class State(models.TextChoices):
        WATCHING = "watching"
        MENTIONED = "mentioned"
        UNWATCHED = "unwatched"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    issue = models.ForeignKey("issues.Issue", on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=16, choices=State.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "issue"], name="issue_subscription_once")
        ]
        indexes = [models.Index(fields=["issue", "state"], name="issue_subscription_issue")]

    def __str__(self):
        return f"{self.user_id} {self.state} issue {self.issue_id}"


class ProjectSubscription(models.Model):
    """A person watching a whole project: all its activity, or only its new issues."""

    class Level(models.TextChoices):
        ALL = "all"
        NEW_ISSUES = "new_issues"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    level = models.CharField(max_length=16, choices=Level.choices, default=Level.ALL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "project"], name="project_subscription_once")
        ]
        indexes = [models.Index(fields=["project", "level"], name="project_subscription_project")]

    def __str__(self):
        return f"{self.user_id} watches project {self.project_id} ({self.level})"


class Thread(models.Model):
    """One person's notifications about one issue: the latest reason, actor and event.
    New activity brings it back to the top, unread, and out of done."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Left behind (no constraint) when the issue or its project is deleted: the inbox joins
    # the issue, so the thread vanishes at once, and the consumer, reading the deletion's
    # event, deletes it and changes its owner's inbox version (which a cascade could not
    # tell it: the rows would be gone).
    issue = models.ForeignKey(
        "issues.Issue", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    # The issue's, kept here so the inbox filters and checks visibility without a join.
    project = models.ForeignKey(
        "projects.Project", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    reason = models.CharField(max_length=32, choices=Reason.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    event = models.ForeignKey(
        "events.Event", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # When the latest activity happened (its event's time).
    updated_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    # Set by DELETE (done): hidden until new activity clears it.
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "notification thread"
        constraints = [models.UniqueConstraint(fields=["user", "issue"], name="thread_once")]
        indexes = [
            # The inbox, newest first, and its unread part.
            models.Index(
                fields=["user", "-updated_at", "-id"],
                condition=Q(done_at__isnull=True),
                name="thread_inbox",
            ),
            models.Index(
                fields=["user", "-updated_at", "-id"],
                condition=Q(done_at__isnull=True, read_at__isnull=True),
                name="thread_unread",
            ),
            models.Index(fields=["issue"], name="thread_issue"),
            models.Index(fields=["project"], name="thread_project"),
        ]

    def __str__(self):
        return f"thread {self.pk}: user {self.user_id}, issue {self.issue_id}"


class Inbox(models.Model):
    """A person's inbox version: changed by every write to their threads (new activity,
    marks, lost access), so the list's ETag costs one indexed read."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    version = models.CharField(max_length=32)

    def __str__(self):
        return f"inbox of {self.user_id}"


class NotificationSettings(models.Model):
    """How a person's mail goes out, per reason (DEFAULT_DELIVERY for what is not set)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_settings",
    )
    # {reason: delivery}; only the reasons the person changed.
    email = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "notification settings"
        verbose_name_plural = "notification settings"

    def __str__(self):
        return f"notification settings of {self.user_id}"

    def delivery(self, reason: str) -> str:
        return delivery_for(self.email, reason)


def delivery_for(email: dict | None, reason: str) -> str:
    """A person's delivery for `reason`, given their stored choices (or None)."""
    return (email or {}).get(reason) or DEFAULT_DELIVERY[reason]


class Email(models.Model):
    """One message to one person: a closed batch of their mail items (or their digest),
    sent by a Celery task; pending until the SMTP server took it."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"  # refused for good, or the SMTP server was down too long
        CANCELLED = "cancelled"  # nothing left the person may still see

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # What its items had in common: "issue:<id>", "bulk:<id>" or "digest".
    key = models.CharField(max_length=80)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due, or how long the running one may take; null once done.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # As rendered by the last attempt (the admin shows them).
    recipient = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # Which closing made it, and its last item: the closing links items by these.
    closing = models.CharField(max_length=32, blank=True)
    last_item_id = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="email_due",
            ),
            models.Index(fields=["user", "-id"], name="email_user"),
            models.Index(fields=["closing"], name="email_closing"),
        ]

    def __str__(self):
        return f"mail {self.pk} to user {self.user_id}: {self.status}"


class MailItem(models.Model):
    """One notification waiting to go out by mail, until its batch closes into an Email."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=80)
    delivery = models.CharField(max_length=16, choices=Delivery.choices)
    reason = models.CharField(max_length=32, choices=Reason.choices)
    issue = models.ForeignKey("issues.Issue", on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="+")
    email = models.ForeignKey(
        Email, on_delete=models.CASCADE, null=True, blank=True, related_name="items"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [
            # The closing's look at the open batches.
            models.Index(
                fields=["user", "key"], condition=Q(email__isnull=True), name="mailitem_open"
            ),
            models.Index(fields=["email"], name="mailitem_email"),
        ]

    def __str__(self):
        return f"{self.reason} for user {self.user_id} (event {self.event_id})"


class EventCursor(models.Model):
    """How far the consumer has read the outbox: every event up to `last_event_id` has
    been turned into notifications. Event ids follow commit order (events.outbox), so
    reading on from here never skips one."""

    name = models.CharField(max_length=32, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    # An event whose processing failed, and how often in a row (it is skipped, and logged,
    # after MAX_FAILURES, so one bad event cannot stop every notification).
    stuck_event_id = models.BigIntegerField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.name} at event {self.last_event_id}"
