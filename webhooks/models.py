from django.conf import settings
from django.db import models
from django.db.models import Q


class Webhook(models.Model):
    """A URL that receives a project's events, signed per Standard Webhooks."""

    # Kept (project set to null) when the project is deleted, so its `project.deleted`
    # event, relayed in the deleting transaction, is still delivered; pruned afterwards.
    project = models.ForeignKey(
        "projects.Project",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="webhooks",
    )
    url = models.URLField(max_length=2000)
    # Event types sent (e.g. "issue.created"); empty: all of them.
    event_types = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=500, blank=True)
    # "whsec_" + base64 of random bytes; shown once, when made.
    secret = models.CharField(max_length=100)
    # After a rotation the old secret still signs too, until it expires.
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Events in a row whose delivery failed for good; WEBHOOK_DISABLE_AFTER turns it off.
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["project", "active"], name="webhook_project_active")]

    def __str__(self):
        return f"{self.url} ({self.project_id})"

    def subscribes_to(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class Delivery(models.Model):
    """One event for one webhook: its attempts so far and the last one's request and answer."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RETRYING = "retrying"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due (pending, retrying), or how long the running one may
    # take; null once finished.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    request_headers = models.JSONField(default=dict, blank=True)
    request_body = models.TextField(blank=True)
    response_body = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            # The relay may run twice for an event; each webhook gets it once.
            models.UniqueConstraint(fields=["webhook", "event"], name="delivery_once_per_event")
        ]
        indexes = [
            models.Index(fields=["webhook", "-id"], name="delivery_webhook_id"),
            # The sweeper looks only for unfinished deliveries that are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "retrying"]),
                name="delivery_due",
            ),
        ]

    def __str__(self):
        return f"{self.message_id} -> webhook {self.webhook_id}: {self.status}"

    @property
    def project(self):
        """For the project permission checks (projects.permissions.project_of)."""
        return self.webhook.project

    @property
    def message_id(self) -> str:
        """The `webhook-id` header: the same on every attempt, for receivers to dedupe."""
        return f"msg_{self.event_id}"
