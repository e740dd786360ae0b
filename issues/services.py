"""Issue writes: creation, edits, the workflow and labels. The API, the admin and
commands all go through these, so the rules hold everywhere."""

import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition

from accounts.callers import user_of
from api.errors import Conflict, DomainError, NotAllowed, NotFound
from api.versions import Expected, lock_for_write, lock_one_for_write
from comments.services import comment_create, comment_import
from events.models import Event
from events.outbox import event_batch, event_emit, events_deferred
from projects.models import Membership, Project, Role
from projects.rights import refusal
from projects.services import ProjectArchived, project_ensure_active

from .events import event_record
from .models import Issue, IssueEvent, Label
from .permissions import edit_right
from .relations import (
    announce_unblocked,
    ensure_may_finish,
    parent_set,
    relation_create,
    relations_delete_with,
)
from .relations.selectors import relation_summaries
from .representation import forget_relations, issue_representation, label_data, no_relations
from .selectors import issue_with_role, issues_by_key, issues_by_keys, issues_for_write

STATUS_FIELD = Issue._meta.get_field("status")

# Fields whose changes are recorded in the issue's history.
TRACKED_FIELDS = ("title", "description", "type", "priority", "assignee", "labels", "due_date")
# Not validated on a write: set by the service, or rows in hand (no query to check they exist).
NOT_VALIDATED = ["number", "status", "project", "reporter", "assignee"]


class TransitionNotAllowed(Conflict):
    message = "This status change is not possible from the issue's current status."
    code = "transition_not_allowed"


class TransitionRuleNotMet(Conflict):
    message = "A rule of the workflow is not met."
    code = "rule_not_met"


class ConcurrentChange(Conflict):
    message = "The issue was changed by someone else at the same time; reload and retry."
    code = "concurrent_change"


def _emit(type: str, issue: Issue, actor, data: dict | None = None, **extra) -> None:
    """Announce a change of `issue`, rendered as its GET renders it (unless given)."""
    if data is None:
        data = issue_representation(issue)
    event_emit(type=type, project=issue.project, actor=actor, data=data, **extra)


# -- numbering and validation ---------------------------------------------------------


def _allocate_number(project: Project) -> int:
    """The next issue number of the project. The UPDATE locks the project row until
    the transaction ends, so concurrent creations take turns and numbers stay gapless."""
    # One statement: the ORM's update() cannot return the new value (PostgreSQL and
    # SQLite 3.35+ both take RETURNING).
    table = connection.ops.quote_name(Project._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_issue_number = last_issue_number + 1 "  # noqa: S608
            "WHERE id = %s RETURNING last_issue_number",
            [project.pk],
        )
        return cursor.fetchone()[0]


def _developers(assignee):
    """The memberships that let `assignee` be assigned issues of their project."""
    return Membership.objects.filter(user=assignee, role__gte=Role.DEVELOPER, user__is_active=True)


def _not_a_developer(assignee) -> ValidationError:
    return ValidationError(
        {"assignee": f"{assignee.username} is not a developer (or above) of this project."}
    )


def _check_assignee(project: Project, assignee) -> None:
    if assignee is not None and not _developers(assignee).filter(project=project).exists():
        raise _not_a_developer(assignee)


def _check_labels(project: Project, labels) -> None:
    foreign = [label.name for label in labels if label.project_id != project.pk]
    if foreign:
        raise ValidationError({"labels": f"Labels of another project: {', '.join(foreign)}."})


# -- issues ------------------------------------------------------------------------------


@transaction.atomic
def issue_create(
    *,
    project: Project,
    reporter,
    title: str,
    description: str = "",
    type: str = Issue.Type.TASK,
    priority: int = Issue.Priority.MEDIUM,
    assignee=None,
    labels=(),
    due_date=None,
    parent: str | None = None,
) -> Issue:
    """A new issue of `project`, reported by `reporter` (a Caller from the API, whose
    token's limits apply to the `parent` it names, or a user)."""
    project_ensure_active(project=project)
    _check_assignee(project, assignee)
    _check_labels(project, labels)
    if parent is not None:
        _ensure_may(reporter, Issue(project=project), "relate_issues")
    caller, reporter = reporter, user_of(reporter)
    issue = Issue(
        project=project,
        reporter=reporter,
        title=title,
        description=description,
        type=type,
        priority=priority,
        assignee=assignee,
        due_date=due_date,
    )
    issue.number = _allocate_number(project)
    issue.full_clean(exclude=NOT_VALIDATED, validate_unique=False)
    issue.save()
    if labels:
        issue.labels.add(*labels)  # a new issue has none: no need to read them first
    issue.prefetched_labels = sorted(labels, key=lambda label: label.name)
    event_record(issue=issue, actor=reporter, kind=IssueEvent.Kind.CREATED, to_status=issue.status)
    if parent is None:
        issue.relations_known = no_relations()  # for every reader: it has none
    else:
        parent_set(issue=issue, actor=caller, parent=parent)
    _emit(Event.Type.ISSUE_CREATED, issue, reporter)
    return issue


def _history_value(name: str, value):
    """A field's value as the history stores it (JSON, readable)."""
    if name == "assignee":
        return value.username if value is not None else None
    if name == "labels":
        return sorted(label.name for label in value)
    if name == "priority":
        return Issue.Priority(value).label
    if name == "due_date":
        return value.isoformat() if value else None
    if name == "description":
        return None  # the text can be long; the event says that it changed
    return value


def _locked(issue: Issue | str, caller, expected: Expected | None) -> Issue:
    """The issue read again with its row locked until the transaction ends, if it is still
    the version the caller expected, with what its representation reads: the row a write
    compares with and changes, so a stale copy neither undoes a concurrent change nor
    records wrong old values. An Issue (the admin, commands, a view that checked its
    rights on it) is read by its id; a key (`WEB-42`, from the API) as `caller` (a Caller,
    or a user) may see it, with their role, in the same statement (NotFound if they may
    not)."""
    if isinstance(issue, Issue):
        return lock_for_write(issues_for_write(), issue.pk, expected)
    # What the caller may see they may view (view_project: every token carries `read`).
    try:
        return issue_with_role(lock_one_for_write(issues_by_key(caller, issue), expected), caller)
    except Issue.DoesNotExist:
        raise NotFound() from None


@transaction.atomic
def issue_update(
    *, issue: Issue | str, actor, expected: Expected | None = None, **fields
) -> Issue:
    """Change an issue's fields (never its status) and record each change; the issue
    returned is the one stored, as its GET renders it."""
    return update_locked(_locked(issue, actor, expected), actor=actor, **fields)


def update_locked(issue: Issue, *, actor, assignee_checked: bool = False, **fields) -> Issue:
    """issue_update on an issue its caller has read locked, inside their transaction (a
    bulk edit's, which checks the assignee for all its issues at once). However many
    fields change: one UPDATE, one INSERT of history."""
    project_ensure_active(project=issue.project)
    before = issue_representation(issue, relations={})  # only its changed fields are read
    changes = []
    if "parent" in fields:
        _ensure_may(actor, issue, "relate_issues")
        if parent_set(issue=issue, actor=actor, parent=fields.pop("parent")):
            forget_relations(issue)
    if "assignee" in fields and not assignee_checked:
        _check_assignee(issue.project, fields["assignee"])
    if "labels" in fields:
        labels = list(fields.pop("labels"))
        _check_labels(issue.project, labels)
        old = issue.prefetched_labels
        if {label.pk for label in old} != {label.pk for label in labels}:
            issue.labels.set(labels)
            issue.prefetched_labels = sorted(labels, key=lambda label: label.name)
            changes.append(("labels", old, labels))
    for name in TRACKED_FIELDS:
        if name in fields and getattr(issue, name) != fields[name]:
            changes.append((name, getattr(issue, name), fields[name]))
            setattr(issue, name, fields[name])
    if not changes:
        return issue
    issue.full_clean(exclude=[*NOT_VALIDATED, "search_vector"], validate_unique=False)
    issue.save()
    IssueEvent.objects.bulk_create(
        IssueEvent(
            issue=issue,
            actor=user_of(actor),
            kind=IssueEvent.Kind.CHANGED,
            field=name,
            old_value=_history_value(name, old),
            new_value=_history_value(name, new),
        )
        for name, old, new in changes
    )
    old = {name: before[name] for name, _, _ in changes}
    _emit(Event.Type.ISSUE_UPDATED, issue, user_of(actor), changes=old)
    return issue


@transaction.atomic
def issue_delete(*, issue: Issue | str, actor=None, expected: Expected | None = None) -> None:
    issue = _locked(issue, actor, expected)
    project_ensure_active(project=issue.project)
    data = issue_representation(issue)
    relations_delete_with(issue=issue, actor=actor)
    issue.delete()
    _emit(Event.Type.ISSUE_DELETED, issue, actor, data)


@transaction.atomic
def issues_delete(*, issues, actor=None) -> int:
    """Delete several issues, all or none (one refused, e.g. archived, keeps them all)."""
    deleted = 0
    for issue in issues:
        issue_delete(issue=issue, actor=actor)
        deleted += 1
    return deleted


# -- the workflow ---------------------------------------------------------------------


@dataclass(frozen=True)
class TransitionOption:
    """One way out of the issue's current status, as the caller sees it."""

    name: str
    target: str
    allowed: bool
    reason: str | None
    requires: list[str]


def _transitions_from(status: str):
    return [t for t in STATUS_FIELD.get_all_transitions(Issue) if t.source == status]


def _requires(transition) -> list[str]:
    """Inputs a transition needs from this source: `resolution`, `comment`."""
    custom = transition.custom
    if transition.source in custom.get("requires_except_from", ()):
        return []
    only_from = custom.get("requires_only_from")
    if only_from is not None and transition.source not in only_from:
        return []
    return list(custom.get("requires", ()))


def _right_refused(caller, issue: Issue, action: str) -> DomainError | None:
    """Why `caller` may not take `action` on `issue` (the error to raise), or None."""
    refused = refusal(caller, issue.project, action, issue)
    if refused is None:
        return None
    kind = ProjectArchived if refused.code == ProjectArchived.code else NotAllowed
    return kind(refused.message, code=refused.code)


def _refusal(issue: Issue, caller, transition) -> DomainError | None:
    """Why `caller` may not take `transition` now (the error to raise), or None."""
    refused = _right_refused(caller, issue, transition.permission.action)
    if refused is not None:
        return refused
    for condition in transition.conditions:
        if not condition(issue):
            return TransitionRuleNotMet(condition.message)
    return None


def issue_available_transitions(*, issue: Issue, user) -> list[TransitionOption]:
    """Every transition from the current status, whether `user` (a Caller from the API, or
    a user) may take it now and why not."""
    options = []
    for transition in _transitions_from(issue.status):
        refused = _refusal(issue, user, transition)
        options.append(
            TransitionOption(
                name=transition.name,
                target=transition.target,
                allowed=refused is None,
                reason=refused.message if refused else None,
                requires=_requires(transition),
            )
        )
    return options


def issue_transition(
    *,
    issue: Issue | str,
    user,
    status: str,
    resolution: str = "",
    comment: str = "",
    force: bool = False,
    duplicate_of: str | None = None,
    expected: Expected | None = None,
) -> Issue:
    """Move the issue to `status` through the workflow, checking the transition's
    source, permission, conditions and required inputs, and record it. `user` is who
    moves it: a Caller from the API (its token's limits apply), or a user."""
    try:
        with transaction.atomic():
            return transition_locked(
                issue=_locked(issue, user, expected),
                user=user,
                status=status,
                resolution=resolution,
                comment=comment,
                force=force,
                duplicate_of=duplicate_of,
            )
    except ConcurrentTransition as e:
        raise ConcurrentChange() from e


def transition_locked(*, issue, user, status, resolution, comment, force=False, duplicate_of=None):
    """issue_transition on an issue its caller has read locked, inside their transaction."""
    actor = user_of(user)  # who the history and the event name
    # The row is locked and read as it is now: of concurrent identical requests, the
    # first wins and the others find the issue already moved on.
    transition = next((t for t in _transitions_from(issue.status) if t.target == status), None)
    if transition is None:
        reachable = [t.target for t in _transitions_from(issue.status)]
        raise TransitionNotAllowed(
            f"Cannot move an issue from {issue.status} to {status}; "
            f"from {issue.status} it can go to: {', '.join(reachable) or 'nowhere'}.",
            current_status=issue.status,
            allowed_statuses=reachable,
        )
    refused = _refusal(issue, user, transition)
    if refused is not None:
        refused.extra.update(current_status=issue.status, rule=transition.name)
        raise refused

    required = _requires(transition)
    # "to close this issue", "to request changes": the transition's words, not its name.
    purpose = transition.custom.get("phrase", f"{transition.name} this issue")
    if "resolution" in required and not resolution:
        resolution = transition.custom.get("default_resolution", "")
        if not resolution:
            raise ValidationError({"resolution": f"A resolution is required to {purpose}."})
    if "comment" in required and not comment.strip():
        raise ValidationError({"comment": f"A comment explaining why is required to {purpose}."})

    forced = None
    if transition.target in (Issue.Status.RESOLVED, Issue.Status.CLOSED):
        forced = ensure_may_finish(issue=issue, caller=user, force=force)
        if resolution == Issue.Resolution.DUPLICATE:
            if duplicate_of:
                relation_create(issue=issue, actor=user, type="duplicate_of", other=duplicate_of)
            elif not issue.relations_out.filter(type="duplicate_of").exists():
                raise ValidationError(
                    {
                        "duplicate_of": "Name the issue this one duplicates to resolve it as a "
                        "duplicate."
                    }
                )

    old = {"status": issue.status, "resolution": issue.resolution}
    from_status = issue.status
    note = None
    if comment.strip():
        note = comment_create(issue=issue, author=actor, body=comment)
    method = getattr(issue, transition.name)
    if "resolution" in transition.custom.get("requires", ()):
        method(resolution=resolution)
    else:
        method()
    issue.save()
    event_record(
        issue=issue,
        actor=actor,
        kind=IssueEvent.Kind.TRANSITIONED,
        from_status=from_status,
        to_status=issue.status,
        resolution=issue.resolution,
        comment=note,
        **({"field": "force", "new_value": forced} if forced else {}),
    )
    changed = {name: value for name, value in old.items() if getattr(issue, name) != value}
    _emit(Event.Type.ISSUE_TRANSITIONED, issue, actor, changes=changed)
    if from_status in Issue.OPEN_STATUSES and not issue.is_open:
        announce_unblocked(blocker=issue, actor=actor)
    return issue


# -- comments ---------------------------------------------------------------------------


@transaction.atomic
def issue_comment(*, issue: Issue, author, body: str):
    """Comment on an issue: the comment, and its entry in the issue's history."""
    comment = comment_create(issue=issue, author=author, body=body)
    event_record(issue=issue, actor=author, kind=IssueEvent.Kind.COMMENTED, comment=comment)
    return comment


# -- labels -----------------------------------------------------------------------------


def _name_taken(name: str) -> ValidationError:
    return ValidationError({"name": f"This project already has a label named {name!r}."})


def _check_label_name(project: Project, name: str, exclude: Label | None = None) -> None:
    others = Label.objects.filter(project=project, name__iexact=name)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    if others.exists():
        raise _name_taken(name)


def _save_label(label: Label) -> None:
    # The unique constraint has the last word: a name taken by a concurrent request
    # after _check_label_name is the same 400, not an IntegrityError.
    label.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            label.save()
    except IntegrityError as e:
        raise _name_taken(label.name) from e


@transaction.atomic
def label_create(
    *, project: Project, name: str, color: str = "", description: str = "", actor=None
) -> Label:
    project_ensure_active(project=project)
    _check_label_name(project, name)
    label = Label(project=project, name=name, description=description)
    if color:
        label.color = color
    _save_label(label)
    _emit_label(Event.Type.LABEL_CREATED, label, actor)
    return label


def _lock_label(label: Label, expected: Expected | None) -> Label:
    return lock_for_write(Label.objects.select_related("project"), label.pk, expected)


@transaction.atomic
def label_update(*, label: Label, actor=None, expected: Expected | None = None, **fields) -> Label:
    label = _lock_label(label, expected)
    project_ensure_active(project=label.project)
    if "name" in fields:
        _check_label_name(label.project, fields["name"], exclude=label)
    old = {}
    for name in ("name", "color", "description"):
        if name in fields and fields[name] != getattr(label, name):
            old[name] = getattr(label, name)
            setattr(label, name, fields[name])
    _save_label(label)
    if old:
        _emit_label(Event.Type.LABEL_UPDATED, label, actor, changes=old)
    return label


@transaction.atomic
def label_delete(*, label: Label, actor=None, expected: Expected | None = None) -> None:
    label = _lock_label(label, expected)
    project_ensure_active(project=label.project)
    data = label_data(label)
    label.delete()
    event_emit(type=Event.Type.LABEL_DELETED, project=label.project, actor=actor, data=data)


@transaction.atomic
def labels_delete(*, labels, actor=None) -> int:
    """Delete several labels, all or none."""
    deleted = 0
    for label in labels:
        label_delete(label=label, actor=actor)
        deleted += 1
    return deleted


def _emit_label(type: str, label: Label, actor, **extra) -> None:
    data = label_data(label)
    event_emit(type=type, project=label.project, actor=actor, data=data, **extra)


# -- imports (transfers/) -----------------------------------------------------------------


@dataclass(frozen=True)
class ImportedComment:
    """A comment of an imported issue, as it was where it came from."""

    author: object
    body: str
    created_at: datetime
    updated_at: datetime | None = None
    edited: bool = False


@dataclass(frozen=True)
class ImportedHistoryEntry:
    """An entry of an imported issue's history; `comment` is the index of the comment it
    refers to among the issue's ImportedComments."""

    kind: str
    actor: object
    created_at: datetime
    from_status: str = ""
    to_status: str = ""
    resolution: str = ""
    field: str = ""
    old_value: object = None
    new_value: object = None
    comment: int | None = None


@dataclass(frozen=True)
class ImportedIssue:
    """An issue as it was where it came from: its fields, state, times, comments and
    (optionally) history; `origin` says where (recorded in the history)."""

    reporter: object
    title: str
    origin: dict
    description: str = ""
    type: str = Issue.Type.TASK
    priority: int = Issue.Priority.MEDIUM
    status: str = Issue.Status.OPEN
    resolution: str = ""
    assignee: object = None
    labels: tuple = ()
    due_date: object = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    comments: tuple[ImportedComment, ...] = ()
    history: tuple[ImportedHistoryEntry, ...] | None = None


# No savepoint of its own inside a caller's transaction (an import's batch, which has one
# per issue): a refusal here undoes the caller's change anyway, and a savepoint costs two
# statements per issue.
@transaction.atomic(savepoint=False)
def issue_import(*, project: Project, actor, data: ImportedIssue) -> Issue:
    """Create an issue brought in by `actor`'s import, with the rules of issue_create (an
    active project, an assignee who is a developer here, this project's labels, the field
    limits) and the state it had where it came from: status and resolution as they were
    (not through the workflow: it happened there), its times, comments and history. Its
    history ends with an `imported` entry saying where it came from (`data.origin`); events
    are the normal ones (issue.created, then comment.created), each made by `actor`."""
    project_ensure_active(project=project)
    _check_assignee(project, data.assignee)
    _check_labels(project, data.labels)
    created_at = data.created_at or timezone.now()
    issue = Issue(
        project=project,
        reporter=data.reporter,
        title=data.title,
        description=data.description,
        type=data.type,
        priority=data.priority,
        status=data.status,
        resolution=data.resolution,
        assignee=data.assignee,
        due_date=data.due_date,
        created_at=created_at,
        resolved_at=data.resolved_at,
        closed_at=data.closed_at,
    )
    issue.number = _allocate_number(project)
    # The status is protected from assignment (full_clean assigns what it cleans): checked
    # here, with the rule of the resolution_only_when_done constraint.
    if data.status not in Issue.Status.values:
        raise ValidationError({"status": f"{data.status!r} is not a status."})
    if data.resolution and data.status not in (Issue.Status.RESOLVED, Issue.Status.CLOSED):
        raise ValidationError({"resolution": "Only a resolved or closed issue has one."})
    issue.full_clean(
        exclude=["number", "status", "project", "reporter", "assignee"], validate_unique=False
    )
    issue.save()
    if data.updated_at is not None:
        # auto_now stamps every save; the original time replaces it.
        issue.updated_at = data.updated_at
        Issue.objects.filter(pk=issue.pk).update(updated_at=data.updated_at)
    if data.labels:
        issue.labels.add(*data.labels)
    issue.prefetched_labels = sorted(data.labels, key=lambda label: label.name)
    issue.relations_known = no_relations()  # an import brings none
    _emit(Event.Type.ISSUE_CREATED, issue, actor)
    comments = [
        comment_import(
            issue=issue,
            author=c.author,
            body=c.body,
            created_at=c.created_at,
            updated_at=c.updated_at,
            edited=c.edited,
            actor=actor,
        )
        for c in data.comments
    ]
    IssueEvent.objects.bulk_create(
        [
            *_imported_history(issue, data, comments),
            IssueEvent(
                issue=issue, actor=actor, kind=IssueEvent.Kind.IMPORTED, new_value=data.origin
            ),
        ]
    )
    return issue


def _imported_history(issue: Issue, data: ImportedIssue, comments: list) -> list[IssueEvent]:
    """The history an imported issue brings, or (without one) its creation and comments."""
    if data.history is None:
        created = IssueEvent(
            issue=issue,
            actor=data.reporter,
            kind=IssueEvent.Kind.CREATED,
            to_status=issue.status,
            created_at=issue.created_at,
        )
        commented = [
            IssueEvent(
                issue=issue,
                actor=comment.author,
                kind=IssueEvent.Kind.COMMENTED,
                comment=comment,
                created_at=comment.created_at,
            )
            for comment in comments
        ]
        return [created, *commented]
    return [
        IssueEvent(
            issue=issue,
            actor=entry.actor,
            kind=entry.kind,
            from_status=entry.from_status,
            to_status=entry.to_status,
            resolution=entry.resolution,
            field=entry.field,
            old_value=entry.old_value,
            new_value=entry.new_value,
            comment=comments[entry.comment] if entry.comment is not None else None,
            created_at=entry.created_at,
        )
        for entry in data.history
    ]


# -- bulk edit ---------------------------------------------------------------------------
#
# Bulk edit: one change applied to many issues, all or nothing (`atomic`) or each on its
# own (`partial`), and a dry run that answers what a real run would.
#
# Each issue goes through the single edit's own code (update_locked, and
# transition_locked for a status change), after the single edit's checks: the
# caller must see it (else it fails as a key that names nothing does), hold the right the
# change takes on it, and meet the workflow's rules. So a batch can do nothing one request
# per issue could not. Every event of a run carries one `bulk_id` (events.outbox.
# event_batch), and they are written in one statement at the end (events_deferred), so the
# notifications of a batch go out as one mail per person.

# What a change may hold besides the fields a PATCH takes.
LABEL_CHANGES = ("labels_add", "labels_remove")
STATUS_CHANGE = ("status", "resolution", "comment")


@dataclass(frozen=True)
class Target:
    """One issue of the batch: its key, and the version the client based the change on."""

    key: str
    expected: Expected | None = None


@dataclass
class Outcome:
    """What became of one issue: the issue as stored (or as it would be, in a dry run), or
    the error that stopped it (an api.errors DomainError or Django's ValidationError)."""

    key: str
    issue: Issue | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Result:
    outcomes: list[Outcome]
    bulk_id: uuid.UUID | None
    applied: bool  # whether the changes are stored (not a dry run, not an atomic refusal)
    relations: dict[int, dict]  # each changed issue's relations' summary, for the caller
    failed: list[Outcome] = field(init=False)

    def __post_init__(self):
        self.failed = [outcome for outcome in self.outcomes if not outcome.ok]


class BulkRefused(DomainError):
    """An atomic bulk edit one of whose issues cannot change: none did (400). `errors`
    lists each issue's problems."""

    message = "Some of the issues cannot be changed, so none was."
    code = "bulk_refused"


class _Undo(Exception):
    """Rolls back the batch's transaction: a dry run, or an atomic batch with a failure."""


def issues_bulk_edit(
    *,
    caller,
    targets: list[Target],
    changes: dict,
    atomic: bool = True,
    dry_run: bool = False,
) -> Result:
    """Apply `changes` (the fields of a PATCH, with `labels` as Label rows or refs by name,
    plus `labels_add`, `labels_remove`, and `status` with its `resolution` and `comment`)
    to each issue of `targets`, as `caller` (a Caller, or a user)."""
    bulk_id = uuid.uuid4()
    outcomes: list[Outcome] = []
    labels = _labels_named(targets, changes)
    assignee = changes.get("assignee")
    # The projects whose issues the assignee may take, for all the issues in one query.
    assignable = (
        set(_developers(assignee).values_list("project_id", flat=True)) if assignee else None
    )
    # Each issue's changes are undone alone only where the others' stay: in a partial real
    # run. Elsewhere any failure undoes the whole batch, and savepoints would only cost.
    alone = transaction.atomic if not (atomic or dry_run) else contextlib.nullcontext
    try:
        with transaction.atomic(), event_batch(bulk_id), events_deferred() as pending:
            # Every issue the caller may see, locked in one statement, in id order (so
            # two batches over the same issues queue instead of deadlocking).
            rows = issues_by_keys(caller, [target.key for target in targets])
            found = {
                issue.key: issue_with_role(issue, caller)
                for issue in rows.select_for_update(of=("self",))
            }
            # What their events show of their relations, read for all of them at once.
            public = relation_summaries([issue.pk for issue in found.values()], None)
            for issue in found.values():
                issue.public_relations = public[issue.pk]
            for target in targets:
                held = len(pending)
                try:
                    with alone():
                        issue = found.get(target.key)
                        if issue is None:
                            raise NotFound()
                        if target.expected is not None:
                            target.expected.check(issue)
                        outcomes.append(
                            Outcome(target.key, _apply(issue, caller, changes, labels, assignable))
                        )
                except (DomainError, ValidationError) as error:
                    del pending[held:]  # its events went with its savepoint
                    outcomes.append(Outcome(target.key, error=error))
                except ConcurrentTransition:
                    del pending[held:]
                    outcomes.append(Outcome(target.key, error=ConcurrentChange()))
            # What the answer shows of their relations, as the caller may see them (read
            # before a dry run is undone).
            relations = relation_summaries([o.issue.pk for o in outcomes if o.ok], caller)
            failed = any(not outcome.ok for outcome in outcomes)
            if dry_run or (atomic and failed):
                raise _Undo()
        applied = True
    except _Undo:
        applied = False
    return Result(outcomes, bulk_id if applied else None, applied, relations)


def _labels_named(targets: list[Target], changes: dict) -> dict[tuple[str, str], Label]:
    """The labels the change names, of every project the keys name, in one query:
    {(project key, lower-case name): label}. A key's project is the part before its dash."""
    names = {
        str(ref).lower()
        for part in ("labels", *LABEL_CHANGES)
        for ref in changes.get(part) or ()
        if not isinstance(ref, Label)
    }
    if not names:
        return {}
    projects = {target.key.rpartition("-")[0].upper() for target in targets}
    index = {}
    for label in Label.objects.filter(project__key__in=projects).select_related("project"):
        for ref in (label.name.lower(), str(label.pk)):
            if ref in names:
                index[(label.project.key, ref)] = label
    return index


def _resolve(issue: Issue, part: str, refs, labels) -> list[Label]:
    found, unknown = [], []
    for ref in refs:
        label = (
            ref if isinstance(ref, Label) else labels.get((issue.project.key, str(ref).lower()))
        )
        if label is None or label.project_id != issue.project_id:
            unknown.append(str(ref))
        elif label not in found:
            found.append(label)
    if unknown:
        raise ValidationError(
            {part: f"No such label in project {issue.project.key}: {', '.join(unknown)}."}
        )
    return found


def _apply(issue: Issue, caller, changes: dict, labels, assignable) -> Issue:
    fields = {
        name: value
        for name, value in changes.items()
        if name not in STATUS_CHANGE and name not in LABEL_CHANGES
    }
    if "labels" in fields:
        fields["labels"] = _resolve(issue, "labels", fields["labels"], labels)
    if any(part in changes for part in LABEL_CHANGES):
        add = _resolve(issue, "labels_add", changes.get("labels_add") or (), labels)
        remove = {
            label.pk
            for label in _resolve(
                issue, "labels_remove", changes.get("labels_remove") or (), labels
            )
        }
        current = [*issue.prefetched_labels, *add]
        fields["labels"] = [label for label in dict.fromkeys(current) if label.pk not in remove]
    edited = set(fields) | {part for part in LABEL_CHANGES if part in changes}
    if edited:
        _ensure_may(caller, issue, edit_right(edited))
        if assignable is not None and issue.project_id not in assignable:
            raise _not_a_developer(changes["assignee"])
        issue = update_locked(issue, actor=caller, assignee_checked=True, **fields)
    if "status" in changes and changes["status"] != issue.status:
        try:
            issue = transition_locked(
                issue=issue,
                user=caller,
                status=changes["status"],
                resolution=changes.get("resolution") or "",
                comment=changes.get("comment") or "",
            )
        except DomainError as error:
            error.extra.setdefault("field", "status")
            raise
    return issue


def _ensure_may(caller, issue: Issue, right: str) -> None:
    """The check HasRights makes of a single PATCH on this issue."""
    refused = _right_refused(caller, issue, right)
    if refused is not None:
        raise refused
