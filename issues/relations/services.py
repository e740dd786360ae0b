"""Relations between issues (blocks, duplicate_of, relates_to, parent): their rules and
writes. A relation is stored once, from its source; each side reads it in its own words
(`blocks` / `blocked_by`, `parent` / `child`). Nothing here names, lists or counts an
issue the caller cannot see."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q

from accounts.callers import user_of
from api.errors import Conflict, NotAllowed, NotFound
from events.models import Event
from events.outbox import event_emit
from projects.models import Project
from projects.rights import refusal
from projects.services import project_ensure_active

from ..events import event_record
from ..models import Issue, IssueEvent, IssueRelation
from ..representation import issue_representation, relation_data
from ..selectors import issues_by_key, issues_for_write

Type = IssueRelation.Type
# A type as either side may name it -> (stored type, whether the named issue is the source).
NAMES = {
    "blocks": (Type.BLOCKS, False),
    "blocked_by": (Type.BLOCKS, True),
    "duplicate_of": (Type.DUPLICATE_OF, False),
    "duplicated_by": (Type.DUPLICATE_OF, True),
    "relates_to": (Type.RELATES_TO, False),
    "parent": (Type.PARENT, False),
    "child": (Type.PARENT, True),
}
# Every type name, for the API's choices (IssueRelationTypeEnum in the schema).
TYPE_NAMES = tuple(NAMES)
# Types whose chains may not loop back (A blocks B blocks A; a parent of its own parent).
ACYCLIC = (Type.BLOCKS, Type.DUPLICATE_OF, Type.PARENT)
# Serializes the creations that could close a cycle (PostgreSQL; SQLite has one writer).
CYCLE_LOCK = 0x69737375  # "issu"


def max_depth() -> int:
    """How many parent links a chain of sub-issues may have (ISSUE_MAX_PARENT_DEPTH)."""
    return getattr(settings, "ISSUE_MAX_PARENT_DEPTH", 5)


def max_children() -> int:
    """How many open children an issue may have (ISSUE_MAX_OPEN_CHILDREN)."""
    return getattr(settings, "ISSUE_MAX_OPEN_CHILDREN", 100)


class RelationRefused(Conflict):
    message = "This relation is not possible."
    code = "relation_refused"


def relations_of(issue: Issue, caller):
    """The relations of `issue` whose other side `caller` may see, with both issues."""
    visible = Project.objects.visible_to(caller).values("pk")
    return IssueRelation.objects.filter(
        Q(source=issue, target__project__in=visible) | Q(target=issue, source__project__in=visible)
    ).select_related("source__project", "target__project")


def _reachable(start: int, type: str, goal: int) -> bool:
    """Whether `goal` is reached from `start` following `type` relations source -> target."""
    seen, frontier = {start}, {start}
    while frontier:
        if goal in frontier:
            return True
        frontier = (
            set(
                IssueRelation.objects.filter(type=type, source__in=frontier).values_list(
                    "target", flat=True
                )
            )
            - seen
        )
        seen |= frontier
    return False


def _height(issue_pk: int) -> int:
    """How many parent links lie below `issue_pk` (0 for an issue without children)."""
    height, level = 0, {issue_pk}
    while True:
        level = set(
            IssueRelation.objects.filter(type=Type.PARENT, target__in=level).values_list(
                "source", flat=True
            )
        )
        if not level:
            return height
        height += 1


def _ancestors(issue_pk: int) -> int:
    """How many parent links lie above `issue_pk`."""
    count, current = 0, issue_pk
    while True:
        current = (
            IssueRelation.objects.filter(type=Type.PARENT, source=current)
            .values_list("target", flat=True)
            .first()
        )
        if current is None:
            return count
        count += 1


def _lock(type: str, *pks: int) -> None:
    """Lock both issues (in id order, so two requests never wait on each other), and on
    PostgreSQL serialize every creation that could close a cycle: two requests adding
    A blocks B and B blocks A at once see each other's, and one is refused."""
    if type in ACYCLIC and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CYCLE_LOCK])
    list(Issue.objects.select_for_update().filter(pk__in=pks).order_by("pk").values("pk"))


def _check(source: Issue, target: Issue, type: str) -> None:
    existing = IssueRelation.objects.filter(
        Q(source=source, target=target) | Q(source=target, target=source), type=type
    ).first()
    if existing is not None:
        if existing.source_id == source.pk or type == Type.RELATES_TO:
            raise RelationRefused(
                "These issues already have this relation.",
                code="relation_exists",
                relation_id=existing.pk,
            )
        raise RelationRefused(f"This {type} relation would make a cycle.", code="relation_cycle")
    if type in ACYCLIC and _reachable(target.pk, type, source.pk):
        raise RelationRefused(f"This {type} relation would make a cycle.", code="relation_cycle")
    if type == Type.PARENT:
        if IssueRelation.objects.filter(type=Type.PARENT, source=source).exists():
            raise RelationRefused(
                "This issue already has a parent; remove it first.", code="parent_exists"
            )
        depth = _ancestors(target.pk) + 1 + _height(source.pk)
        if depth > max_depth():
            raise RelationRefused(
                f"Sub-issues may be at most {max_depth()} levels deep; this would make "
                f"{depth}.",
                code="parent_too_deep",
            )
        open_children = IssueRelation.objects.filter(
            type=Type.PARENT, target=target, source__status__in=Issue.OPEN_STATUSES
        ).count()
        if source.is_open and open_children >= max_children():
            raise RelationRefused(
                f"An issue may have at most {max_children()} open sub-issues.",
                code="too_many_children",
            )


def _announce(relation: IssueRelation, actor, type: str) -> None:
    """`issue.related` / `issue.unrelated` in each side's project, the relation as that side
    reads it. The other issue is named only if everyone who reads this project's events may
    see it (same project, or an internal one); otherwise `issue` is null."""
    for issue, other in ((relation.source, relation.target), (relation.target, relation.source)):
        data = relation_data(relation, issue.pk)
        data["subject"] = issue.key
        if other.project_id != issue.project_id and (
            other.project.visibility == Project.Visibility.PRIVATE
        ):
            data["issue"] = None
        event_emit(type=type, project=issue.project, actor=actor, data=data)
        if relation.source.project_id == relation.target.project_id:
            break  # one project, one event: it names both sides


def _record(relation: IssueRelation, actor, kind: str) -> None:
    """The relation in both issues' histories, each in its own words."""
    value = "new_value" if kind == IssueEvent.Kind.RELATED else "old_value"
    source, target = relation.source, relation.target
    event_record(issue=source, actor=actor, kind=kind, field=relation.type, **{value: target.key})
    event_record(
        issue=target,
        actor=actor,
        kind=kind,
        field=IssueRelation.INVERSE[relation.type],
        **{value: source.key},
    )


@transaction.atomic
def relation_create(
    *, issue: Issue, actor, type: str, other: str, field: str = "issue"
) -> IssueRelation:
    """Relate `issue` to the issue keyed `other` (which `actor`, a Caller or a user, must
    see), `type` as `issue` reads it (`blocks`, `blocked_by`, `child`...). `field` names
    `other` in the errors (`issue`, or a PATCH's `parent`)."""
    if type not in NAMES:
        raise ValidationError({"type": f"Unknown relation type; one of {', '.join(NAMES)}."})
    found = issues_by_key(actor, other, labels=False).first()
    if found is None:
        raise ValidationError({field: f"No issue {other} that you can see."})
    stored, reversed_ = NAMES[type]
    source, target = (found, issue) if reversed_ else (issue, found)
    _lock(stored, source.pk, target.pk)
    project_ensure_active(project=issue.project)
    project_ensure_active(project=found.project)
    if source.pk == target.pk:
        raise ValidationError({field: "An issue cannot be related to itself."})
    _check(source, target, stored)
    relation = IssueRelation.objects.create(
        source=source, target=target, type=stored, created_by=user_of(actor)
    )
    _record(relation, user_of(actor), IssueEvent.Kind.RELATED)
    _announce(relation, user_of(actor), Event.Type.ISSUE_RELATED)
    return relation


@transaction.atomic
def parent_set(*, issue: Issue, actor, parent: str | None) -> bool:
    """Make the issue keyed `parent` (which `actor` must see) the parent of `issue`, or
    with None leave it without one (a PATCH's `parent`); whether it changed. A parent the
    actor cannot see is, for them, no parent: None leaves it, and another is refused as
    a second parent would be."""
    current = (
        relations_of(issue, actor)
        .filter(type=Type.PARENT, source=issue)
        .select_related("target__project")
        .first()
    )
    if current is not None and parent is not None and current.target.key == parent.upper():
        return False
    if current is None and parent is None:
        return False
    if current is not None:
        relation_delete(issue=issue, actor=actor, relation_id=current.pk)
    if parent is not None:
        relation_create(issue=issue, actor=actor, type=Type.PARENT, other=parent, field="parent")
    return True


@transaction.atomic
def relation_delete(*, issue: Issue, actor, relation_id) -> None:
    """Remove a relation of `issue` whose other side `actor` may see (else NotFound)."""
    relation = relations_of(issue, actor).filter(pk=relation_id).select_for_update(of=("self",))
    relation = relation.first()
    if relation is None:
        raise NotFound()
    project_ensure_active(project=issue.project)
    _record(relation, user_of(actor), IssueEvent.Kind.UNRELATED)
    _announce(relation, user_of(actor), Event.Type.ISSUE_UNRELATED)
    relation.delete()


def announce_unblocked(*, blocker: Issue, actor) -> None:
    """After `blocker` was resolved or closed: `issue.unblocked` for each issue it blocked
    that has no open blocker left (in that issue's project, as its GET renders it)."""
    blocked = IssueRelation.objects.filter(type=Type.BLOCKS, source=blocker).values("target")
    still = IssueRelation.objects.filter(
        type=Type.BLOCKS, source__status__in=Issue.OPEN_STATUSES
    ).values("target")
    for issue in issues_for_write().filter(pk__in=blocked).exclude(pk__in=still):
        event_emit(
            type=Event.Type.ISSUE_UNBLOCKED,
            project=issue.project,
            actor=actor,
            data=issue_representation(issue),
        )


class OpenDependencies(Conflict):
    message = "This issue has open blockers or open sub-issues."
    code = "rule_not_met"


def ensure_may_finish(*, issue: Issue, caller, force: bool) -> dict | None:
    """Refuse to resolve or close `issue` while it has open blockers or open children,
    listing those `caller` can see and counting the others, unless `force` (and the
    caller holds `force_transition`). Returns what was forced past, for the history."""
    waiting = IssueRelation.objects.filter(
        Q(type=Type.BLOCKS) | Q(type=Type.PARENT),
        target=issue,
        source__status__in=Issue.OPEN_STATUSES,
    ).select_related("source__project")
    waiting = list(waiting)
    if not waiting:
        return None
    if force:
        refused = refusal(caller, issue.project, "force_transition", issue)
        if refused is not None:
            raise NotAllowed(refused.message, code=refused.code)
        return {
            "forced": True,
            "open_blockers": sum(r.type == Type.BLOCKS for r in waiting),
            "open_children": sum(r.type == Type.PARENT for r in waiting),
        }
    visible = set(Project.objects.visible_to(caller).values_list("pk", flat=True))
    shown = {Type.BLOCKS: [], Type.PARENT: []}
    hidden = {Type.BLOCKS: 0, Type.PARENT: 0}
    for relation in waiting:
        if relation.source.project_id in visible:
            shown[relation.type].append(relation.source.key)
        else:
            hidden[relation.type] += 1
    raise OpenDependencies(
        "This issue cannot be resolved or closed while it has open blockers or open "
        "sub-issues; finish them first, or pass force (maintainers and owners).",
        open_blockers=shown[Type.BLOCKS],
        hidden_open_blockers=hidden[Type.BLOCKS],
        open_children=shown[Type.PARENT],
        hidden_open_children=hidden[Type.PARENT],
    )


def relations_delete_with(*, issue: Issue, actor) -> None:
    """Before `issue` is deleted: each of its relations removed as `relation_delete` would
    (the other side's history and `issue.unrelated`), so the other side is told."""
    relations = IssueRelation.objects.filter(Q(source=issue) | Q(target=issue))
    for relation in relations.select_related("source__project", "target__project"):
        _record(relation, user_of(actor), IssueEvent.Kind.UNRELATED)
        _announce(relation, user_of(actor), Event.Type.ISSUE_UNRELATED)
