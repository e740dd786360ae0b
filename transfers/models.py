"""A project's data out (Export) and in (Import), and where each imported issue came from
(ImportedIssue). The work is done by Celery jobs (tasks.py -> services.py)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Job(models.Model):
    """What an export and an import share: a Celery job for one person in one project,
    with its status, its error and its times."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    RUNNING_STATUSES = (Status.QUEUED, Status.RUNNING)

    # Kept null when the project is deleted, so the sweeper still finds the file to delete.
    project = models.ForeignKey(
        "projects.Project", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched by the running job; a queued or running job left untouched for
    # TRANSFERS_STALL_SECONDS is queued again by the sweeper (its worker died), which
    # counts it in `restarts`.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    restarts = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["-id"]


class Export(Job):
    """A file of a project's issues (those a filter selects), written by a Celery job into
    the transfers storage and deleted EXPORT_RETENTION_HOURS after it was asked for."""

    class Format(models.TextChoices):
        CSV = "csv"
        JSONL = "jsonl"

    format = models.CharField(max_length=8, choices=Format.choices)
    # The issue list's filters, as its query parameters: {"status": ["open"], "assignee": "me"}.
    filters = models.JSONField(default=dict, blank=True)
    # What comes with each issue besides its fields: "comments", "history".
    include = models.JSONField(default=list, blank=True)
    bom = models.BooleanField(default=False)
    # Progress: issues to write (counted when the job starts) and written so far.
    total = models.PositiveIntegerField(null=True, blank=True)
    written = models.PositiveIntegerField(default=0)
    comments = models.PositiveIntegerField(default=0)
    history = models.PositiveIntegerField(default=0)
    # The file's name in the transfers storage, and its size once written.
    file = models.CharField(max_length=255, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    # Each run of the job takes the next attempt; a stale run that ends later records
    # nothing.
    attempt = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()

    class Meta(Job.Meta):
        constraints = [
            # One export at a time per person (README, "Export and import").
            models.UniqueConstraint(
                fields=["requested_by"],
                condition=Q(status__in=["queued", "running"]),
                name="export_one_running_per_person",
            ),
        ]
        indexes = [models.Index(fields=["expires_at"], name="export_expires")]

    def __str__(self):
        return f"Export {self.pk} ({self.format})"


class Import(Job):
    """A file of issues brought into a project by a Celery job, in batches of
    IMPORT_BATCH_SIZE, each committed with the point to resume from (`processed`)."""

    class Format(models.TextChoices):
        JSONL = "jsonl"
        CSV = "csv"
        GITHUB = "github"

    format = models.CharField(max_length=8, choices=Format.choices)
    # Every event of the import carries it (events.outbox.event_batch).
    bulk_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The upload: its name in the transfers storage (deleted once the import ends), the
    # name the client gave it, and its size.
    file = models.CharField(max_length=255, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    # Records in the file; records done (the resume point: the next batch starts there);
    # issues created and records skipped (already imported, pull requests).
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # What the dry run found (transfers.reading.Report.as_dict).
    report = models.JSONField(default=dict, blank=True)

    class Meta(Job.Meta):
        constraints = [
            # One import at a time per project (README, "Export and import").
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status__in=["queued", "running"]),
                name="import_one_running_per_project",
            ),
        ]

    def __str__(self):
        return f"Import {self.pk} ({self.format})"

    @property
    def report_or_none(self) -> dict | None:
        return self.report or None


class ImportedIssue(models.Model):
    """Where an imported issue came from: the format it arrived in and its id there (a
    GitHub issue's id, the key in an export). The same external id is never imported
    twice into one project: importing a file again creates nothing twice."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=16)
    external_id = models.CharField(max_length=200)
    issue = models.OneToOneField("issues.Issue", on_delete=models.CASCADE, related_name="origin")
    import_run = models.ForeignKey(
        Import, on_delete=models.SET_NULL, null=True, blank=True, related_name="issues"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "source", "external_id"], name="imported_issue_once"
            ),
        ]

    def __str__(self):
        return f"{self.source}:{self.external_id}"
