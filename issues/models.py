from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MinLengthValidator, RegexValidator
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Lower
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from accounts.callers import user_of
from projects.models import Membership, Project

from . import choices, workflow


class Label(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=50, validators=[MinLengthValidator(1)])
    color = models.CharField(
        max_length=7,
        default="#6B7280",
        validators=[RegexValidator(r"^#[0-9A-Fa-f]{6}\Z", "A colour like #1F883D.")],
    )
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("project", Lower("name"), name="label_name_unique"),
        ]

    def __str__(self):
        return self.name


class IssueQuerySet(models.QuerySet):
    def visible_to(self, caller):
        """Issues in projects `caller` (a Caller, or a user) may see."""
        return self.filter(project__in=Project.objects.visible_to(caller).values("pk"))

    def with_member_role(self, user):
        """Annotate `member_role`: the caller's membership role in the issue's project."""
        role = Membership.objects.filter(project=OuterRef("project_id"), user=user_of(user).pk)
        return self.annotate(member_role=Subquery(role.values("role")[:1]))

    def by_key(self, key: str):
        """Filter on a readable key such as `WEB-42` (no match if malformed)."""
        return self.by_keys([key])

    def by_keys(self, keys):
        """Filter on readable keys (`["WEB-42", "API-7"]`; malformed ones match nothing)."""
        match = Q(pk__in=[])
        for key in keys:
            project_key, _, number = key.upper().rpartition("-")
            if project_key and number.isascii() and number.isdigit():
                match |= Q(project__key=project_key, number=int(number))
        return self.filter(match)


class Issue(ConcurrentTransitionMixin, models.Model):
    """A bug, feature or task in a project, moved through its workflow by `issue_transition`."""

    class Type(models.TextChoices):
        BUG = "bug"
        FEATURE = "feature"
        TASK = "task"

    Priority = choices.Priority  # a rank, so lists sort by importance (issues/choices.py)

    class Status(models.TextChoices):
        OPEN = "open"
        IN_PROGRESS = "in_progress"
        IN_REVIEW = "in_review"
        RESOLVED = "resolved"
        CLOSED = "closed"

    class Resolution(models.TextChoices):
        FIXED = "fixed"
        DUPLICATE = "duplicate"
        WONT_FIX = "wont_fix"
        CANNOT_REPRODUCE = "cannot_reproduce"
        OBSOLETE = "obsolete"

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS, Status.IN_REVIEW)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="issues")
    number = models.PositiveIntegerField(editable=False)
    title = models.CharField(max_length=200, validators=[MinLengthValidator(1)])
    description = models.TextField(max_length=50_000, blank=True)
    type = models.CharField(max_length=16, choices=Type.choices, default=Type.TASK)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.MEDIUM)
    status = FSMField(max_length=16, choices=Status.choices, default=Status.OPEN, protected=True)
    resolution = models.CharField(max_length=32, choices=Resolution.choices, blank=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="reported_issues",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_issues",
    )
    labels = models.ManyToManyField(Label, blank=True, related_name="issues")
    due_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Files attached to the issue and its comments, kept in step by attachments/services.py
    # (lists show it without counting rows per issue). 0 in the database too, for the rows
    # the demo and the benchmark insert in bulk.
    attachment_count = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    # Title (weight A) and description (weight B) for full-text search. On PostgreSQL
    # a trigger keeps it current on every write, bulk inserts included, and a GIN
    # index serves searches (migration 0002); elsewhere it stays empty.
    search_vector = SearchVectorField(null=True, editable=False)

    objects = IssueQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="issue_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="issue_number_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["resolved", "closed"]) | Q(resolution=""),
                name="issue_resolution_only_when_done",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "-updated_at", "-id"], name="issue_project_updated"),
            models.Index(fields=["project", "status"], name="issue_project_status"),
            # "My open bugs by priority": one assignee's issues in one status come out of
            # the index already sorted by priority, so a page stops after its rows. The
            # project is included so that the page's count checks visibility from the
            # index alone (PostgreSQL; other databases leave it out).
            models.Index(
                fields=["assignee", "status", "-priority", "-id"],
                include=["project"],
                name="issue_assignee_status_prio",
            ),
            # The same for is_open=true (OPEN_STATUSES), over the open issues only.
            models.Index(
                fields=["assignee", "-priority", "-id"],
                include=["project", "status"],
                name="issue_open_assignee_prio",
                condition=Q(status__in=["open", "in_progress", "in_review"]),
            ),
            models.Index(fields=["-updated_at", "-id"], name="issue_updated"),
            models.Index(fields=["due_date"], name="issue_due_date"),
        ]

    def __str__(self):
        return f"{self.key}: {self.title}"

    @property
    def key(self) -> str:
        return f"{self.project.key}-{self.number}"

    def _update_initial_state(self):
        # Rows loaded without their status (deleting a project loads its issues' ids only)
        # are not refreshed here: that cost a query per issue, and a 500 if one was deleted
        # meanwhile. Loading the status later records it (refresh_from_db calls this again).
        if "status" not in self.get_deferred_fields():
            super()._update_initial_state()

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    # The workflow. Each transition says where it may go from, who may take it
    # (permission: its right in projects/rights.py) and what must hold first
    # (conditions); `issue_transition` in services.py is the only caller, and records
    # every step as an IssueEvent.

    @transition(
        field=status,
        source=Status.OPEN,
        target=Status.IN_PROGRESS,
        conditions=[workflow.has_assignee],
        permission=workflow.right("start_issue"),
    )
    def start(self):
        pass

    @transition(
        field=status,
        source=Status.IN_PROGRESS,
        target=Status.OPEN,
        permission=workflow.right("stop_issue"),
    )
    def stop(self):
        pass

    @transition(
        field=status,
        source=Status.IN_PROGRESS,
        target=Status.IN_REVIEW,
        permission=workflow.right("submit_issue_for_review"),
    )
    def submit_for_review(self):
        pass

    @transition(
        field=status,
        source=Status.IN_REVIEW,
        target=Status.IN_PROGRESS,
        permission=workflow.right("request_changes"),
        custom={"requires": ["comment"], "phrase": "request changes"},
    )
    def request_changes(self):
        pass

    @transition(
        field=status,
        source=Status.IN_REVIEW,
        target=Status.RESOLVED,
        permission=workflow.right("resolve_issue"),
        custom={"requires": ["resolution"], "default_resolution": Resolution.FIXED},
    )
    def resolve(self, resolution):
        self.resolution = resolution
        self.resolved_at = timezone.now()

    @transition(
        field=status,
        source=[Status.OPEN, Status.IN_PROGRESS, Status.IN_REVIEW, Status.RESOLVED],
        target=Status.CLOSED,
        permission=workflow.right("close_issue"),
        custom={"requires": ["resolution"], "requires_except_from": [Status.RESOLVED]},
    )
    def close(self, resolution):
        if resolution:
            self.resolution = resolution
        self.closed_at = timezone.now()

    @transition(
        field=status,
        source=[Status.RESOLVED, Status.CLOSED],
        target=Status.OPEN,
        permission=workflow.right("reopen_issue"),
        custom={"requires": ["comment"], "requires_only_from": [Status.CLOSED]},
    )
    def reopen(self):
        self.resolution = ""
        self.resolved_at = None
        self.closed_at = None


class IssueEvent(models.Model):
    """One entry in an issue's history: created, a transition, a field change, a comment,
    an import."""

    class Kind(models.TextChoices):
        CREATED = "created"
        TRANSITIONED = "transitioned"
        CHANGED = "changed"
        COMMENTED = "commented"
        # Brought in by an import (transfers/): `new_value` says from where.
        IMPORTED = "imported"
        # A relation to another issue added or removed (issues/relations.py): `field` is
        # its type as this issue reads it, `new_value` (added) or `old_value` the other key.
        RELATED = "related"
        UNRELATED = "unrelated"
        # A file attached or deleted (attachments/): `new_value` (attached) or `old_value`
        # its filename, `field` "attachment".
        ATTACHED = "attached"
        DETACHED = "detached"

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    resolution = models.CharField(max_length=32, blank=True)
    field = models.CharField(max_length=32, blank=True)
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    comment = models.ForeignKey(
        "comments.Comment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["issue", "created_at", "id"], name="event_issue_time")]

    def __str__(self):
        return f"{self.issue_id} {self.kind}"


class IssueRelation(models.Model):
    """A link between two issues, stored once from its source: `source` blocks `target`,
    `source` duplicates `target`, `source` relates to `target` (symmetric), or `source` is
    a sub-issue of `target` (its parent; an issue has at most one)."""

    class Type(models.TextChoices):
        BLOCKS = "blocks"
        DUPLICATE_OF = "duplicate_of"
        RELATES_TO = "relates_to"
        PARENT = "parent"

    # How the other side reads each type (relates_to reads the same both ways).
    INVERSE = {
        "blocks": "blocked_by",
        "duplicate_of": "duplicated_by",
        "relates_to": "relates_to",
        "parent": "child",
    }

    source = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="relations_out")
    target = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="relations_in")
    type = models.CharField(max_length=16, choices=Type.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "type"], name="issue_relation_unique"
            ),
            models.UniqueConstraint(
                fields=["source"],
                condition=Q(type="parent"),
                name="issue_relation_one_parent",
            ),
            models.CheckConstraint(
                condition=~Q(source=models.F("target")), name="issue_relation_not_self"
            ),
        ]
        indexes = [
            models.Index(fields=["target", "type"], name="issue_relation_target"),
        ]

    def __str__(self):
        return f"{self.source_id} {self.type} {self.target_id}"
