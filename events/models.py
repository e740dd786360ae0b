from django.conf import settings
from django.db import models
from django.db.models import Q


class Event(models.Model):
    """One change, as the change feed and webhooks announce it (the transactional outbox).

    Written by `events.outbox.event_emit` inside the transaction of the change it records,
    so it exists exactly when the change committed. Ids increase in commit order (see
    event_emit), so `after=<id>` resumes a reader without gaps.
    """

    class Type(models.TextChoices):
        ISSUE_CREATED = "issue.created"
        ISSUE_UPDATED = "issue.updated"
        ISSUE_TRANSITIONED = "issue.transitioned"
        ISSUE_DELETED = "issue.deleted"
        ISSUE_RELATED = "issue.related"
        ISSUE_UNRELATED = "issue.unrelated"
        ISSUE_UNBLOCKED = "issue.unblocked"
        COMMENT_CREATED = "comment.created"
        COMMENT_UPDATED = "comment.updated"
        COMMENT_DELETED = "comment.deleted"
        ATTACHMENT_CREATED = "attachment.created"
        ATTACHMENT_DELETED = "attachment.deleted"
        LABEL_CREATED = "label.created"
        LABEL_UPDATED = "label.updated"
        LABEL_DELETED = "label.deleted"
        MEMBER_ADDED = "member.added"
        MEMBER_UPDATED = "member.updated"
        MEMBER_REMOVED = "member.removed"
        PROJECT_CREATED = "project.created"
        PROJECT_UPDATED = "project.updated"
        PROJECT_ARCHIVED = "project.archived"
        PROJECT_UNARCHIVED = "project.unarchived"
        PROJECT_DELETED = "project.deleted"

    type = models.CharField(max_length=32, choices=Type.choices, db_index=True)
    # Kept null (not cascaded) when the project goes away: its events stay for site
    # admins and for the webhooks relay, named by project_key.
    project = models.ForeignKey(
        "projects.Project", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    project_key = models.CharField(max_length=10, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The resource as a GET renders it (caller-specific fields left out).
    data = models.JSONField(default=dict)
    # For updates: the changed fields' old values ({"title": "old"}).
    changes = models.JSONField(null=True, blank=True)
    # When the webhooks relay handed the event over; null until then.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # The batch the change was part of (an import, a bulk edit): every event of one batch
    # carries the same id, so readers (notifications, the feed's ?bulk_id=) can take them
    # together. Null for a change made on its own. Set by `event_emit` (events/outbox.py).
    bulk_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["project", "id"], name="event_project_id"),
            # The relay's sweeper looks only for events not yet handed over.
            models.Index(
                fields=["id"], condition=Q(dispatched_at__isnull=True), name="event_undispatched"
            ),
            # One batch's events; most events have none, so only those that do are indexed.
            models.Index(
                fields=["bulk_id", "id"], condition=Q(bulk_id__isnull=False), name="event_bulk"
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.type} {self.project_key}"
