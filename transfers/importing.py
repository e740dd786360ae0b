"""From checked rows (reading.py) to issues: people matched to users, labels found or
created, what is already imported recognised, and each issue written by
`issues.services.issue_import` (so every rule of a created issue holds). The dry run
(`plan`) and the real run (`write_batch`) share all of it, so the report of one is what
the other does."""

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from issues.models import Label
from issues.services import (
    ImportedIssue,
    issue_import,
    label_create,
)
from projects.models import Membership, Project, Role

from . import reading
from .models import ImportedIssue as Origin
from .reading import Problem, Row, Skip

LOOKUP_BATCH = 500


def batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class People:
    """The names in a file, matched to users here: a username (case-insensitive) of any
    user, or the email of one of the project's members (so an import tells its maintainer
    nothing about other people's addresses). Looked up in batches, remembered."""

    def __init__(self, project: Project):
        self.project = project
        self.known: dict[str, object] = {}

    def resolve(self, names: Iterable[str]) -> None:
        wanted = {name.lower() for name in names} - self.known.keys()
        for chunk in batches(sorted(wanted), LOOKUP_BATCH):
            users = get_user_model().objects.annotate(match=Lower("username"))
            found = {user.match: user for user in users.filter(match__in=chunk)}
            emails = [name for name in chunk if "@" in name and name not in found]
            if emails:
                members = (
                    Membership.objects.filter(project=self.project)
                    .annotate(match=Lower("user__email"))
                    .filter(match__in=emails)
                    .select_related("user")
                )
                found.update({member.match: member.user for member in members})
            self.known.update({name: found.get(name) for name in chunk})

    def get(self, name: str | None):
        return self.known.get(name.lower()) if name else None


def developers(project: Project) -> set[int]:
    """The users an issue of `project` may be assigned to (issues.services._check_assignee)."""
    return set(
        Membership.objects.filter(
            project=project, role__gte=Role.DEVELOPER, user__is_active=True
        ).values_list("user_id", flat=True)
    )


def project_labels(project: Project) -> dict[str, Label]:
    """The project's labels by name, compared as their unique constraint does."""
    return {label.name.lower(): label for label in Label.objects.filter(project=project)}


def already_imported(project: Project, rows: list[Row]) -> dict[tuple[str, str], str]:
    """(source, external id) -> the key of the issue it became, for the rows imported before."""
    found = {}
    for source in {row.source for row in rows}:
        ids = [row.external_id for row in rows if row.source == source]
        origins = Origin.objects.filter(project=project, source=source, external_id__in=ids)
        for external_id, number in origins.values_list("external_id", "issue__number"):
            found[(source, external_id)] = f"{project.key}-{number}"
    return found


_MARKDOWN = re.compile(r"([\\`*_\[\]<>#])")


def _attributed(text: str, verb: str, name: str, limit: int) -> str | None:
    """`text` headed by who wrote it where they match no user here; None if over `limit`."""
    escaped = _MARKDOWN.sub(r"\\\1", name)
    line = f"_Imported: originally {verb} by {escaped}._"
    text = f"{line}\n\n{text}" if text else line
    return text if len(text) <= limit else None


@dataclass
class Prepared:
    """A row made ready for issue_import, with what the report says about it."""

    row: Row
    fields: dict
    problems: list[Problem] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)


def prepare(row: Row, people: People, assignable: set[int], importer, import_id) -> Prepared:
    """ImportedIssue's fields for `row` (labels aside): its people as users (the importer
    for a name that matches no one, the original name kept in the text and the history);
    an assignee who cannot be assigned here is left out, with a warning."""
    prepared = Prepared(row, {})
    unmatched = prepared.unmatched

    def person(name):
        user = people.get(name)
        if name and user is None:
            unmatched.append(name)
        return user

    reporter = person(row.reporter)
    description = row.description
    if row.reporter and reporter is None:
        description = _attributed(
            row.description, "reported", row.reporter, reading.DESCRIPTION_MAX
        )
        if description is None:
            prepared.problems.append(
                Problem(
                    row.line,
                    "description",
                    f"With the line naming its author ({row.reporter}, who matches no user "
                    f"here), over {reading.DESCRIPTION_MAX} characters.",
                    "max_length",
                )
            )
    assignee = people.get(row.assignee)
    if row.assignee and (assignee is None or assignee.pk not in assignable):
        why = "matches no user here" if assignee is None else "cannot be assigned here"
        message = f"{row.assignee!r} {why} (only developers and above can): left unassigned."
        prepared.warnings.append({"line": row.line, "field": "assignee", "message": message})
        assignee = None
    comments = []
    for index, comment in enumerate(row.comments):
        author = person(comment.author)
        body = comment.body
        if comment.author and author is None:
            body = _attributed(body, "written", comment.author, reading.COMMENT_MAX)
            if body is None:
                prepared.problems.append(
                    Problem(
                        row.line,
                        f"comments.{index}.body",
                        f"With the line naming its author ({comment.author}, who matches no "
                        f"user here), over {reading.COMMENT_MAX} characters.",
                        "max_length",
                    )
                )
                continue
        comments.append(
            replace(
                comment,
                author=author or importer,
                body=body,
                created_at=comment.created_at or row.created_at,
            )
        )
    history = None
    if row.history is not None:
        history = tuple(
            replace(entry, actor=people.get(entry.actor) or importer) for entry in row.history
        )
    prepared.fields = {
        "reporter": reporter or importer,
        "title": row.title,
        "description": description or "",
        "type": row.type,
        "priority": row.priority,
        "status": row.status,
        "resolution": row.resolution,
        "assignee": assignee,
        "due_date": row.due_date,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "resolved_at": row.resolved_at,
        "closed_at": row.closed_at,
        "comments": tuple(comments),
        "history": history,
        "origin": {
            "source": row.source,
            "external_id": row.external_id,
            "import_id": import_id,
            "original_reporter": row.reporter if row.reporter and reporter is None else None,
        },
    }
    return prepared


class Report:
    """What an import would do (the dry run) or was asked to do: issues, comments, history
    entries and labels to create; records refused (line, field, why) and skipped; users
    matched or not. Each list keeps its first IMPORT_REPORT_ITEMS entries and a count."""

    def __init__(self, format: str):
        self.format = format
        self.records = self.issues = self.comments = self.history = 0
        self.labels: dict[str, str] = {}  # lower-case name -> name, new labels
        self.lists = {"refused": [], "skipped": [], "warnings": []}
        self.counts = Counter()
        self.matched: dict[str, str] = {}
        self.unmatched: Counter = Counter()

    def add(self, kind: str, entry: dict) -> None:
        self.counts[kind] += 1
        if len(self.lists[kind]) < settings.IMPORT_REPORT_ITEMS:
            self.lists[kind].append(entry)

    @property
    def refused(self) -> int:
        return self.counts["refused"]

    def as_dict(self) -> dict:
        limit = settings.IMPORT_REPORT_ITEMS
        return {
            "format": self.format,
            "records": self.records,
            "create": {
                "issues": self.issues,
                "comments": self.comments,
                "history": self.history,
                "labels": sorted(self.labels.values()),
            },
            **dict(self.lists.items()),
            **{f"{kind}_count": self.counts[kind] for kind in self.lists},
            "users": {
                "matched": [
                    {"name": name, "user": username}
                    for name, username in sorted(self.matched.items())[:limit]
                ],
                "unmatched": [
                    {"name": name, "records": count, "becomes": "the importer"}
                    for name, count in sorted(self.unmatched.items())[:limit]
                ],
                "matched_count": len(self.matched),
                "unmatched_count": len(self.unmatched),
            },
        }


def plan(upload, format: str, project: Project, importer) -> Report:
    """Read the whole file and say what importing it would do; writes nothing."""
    report, people = Report(format), People(project)
    assignable, labels = developers(project), project_labels(project)
    for batch in batches(reading.rows(upload, format), LOOKUP_BATCH):
        report.records += len(batch)
        rows = [row for row, _ in batch if isinstance(row, Row)]
        done = already_imported(project, rows)
        people.resolve(name for row in rows for name in row.people())
        for row, problems in batch:  # in the file's order
            for problem in problems:
                report.add("refused", problem.as_dict())
            if isinstance(row, Skip):
                report.add("skipped", _skip(row.line, row.external_id, row.reason))
            elif isinstance(row, Row):
                key = done.get((row.source, row.external_id))
                if key is not None:
                    report.add("skipped", _skip(row.line, row.external_id, f"imported as {key}"))
                else:
                    _count(
                        report, prepare(row, people, assignable, importer, None), people, labels
                    )
    return report


def _skip(line: int, external_id: str, reason: str) -> dict:
    return {"line": line, "external_id": external_id, "reason": reason}


def _count(report: Report, prepared: Prepared, people: People, labels: dict) -> None:
    for problem in prepared.problems:
        report.add("refused", problem.as_dict())
    for warning in prepared.warnings:
        report.add("warnings", warning)
    row = prepared.row
    for name in row.people():
        user = people.get(name)
        if user is not None:
            report.matched[name] = user.username
    report.unmatched.update(set(prepared.unmatched))
    if prepared.problems:
        return
    report.issues += 1
    report.comments += len(prepared.fields["comments"])
    history = prepared.fields["history"]
    # Without a history of its own: its creation and each comment; then the import.
    report.history += (len(history) if history is not None else 1 + len(row.comments)) + 1
    for name, _ in row.labels:
        if name.lower() not in labels:
            report.labels.setdefault(name.lower(), name)


@dataclass
class BatchResult:
    created: int = 0
    skipped: int = 0


def write_batch(*, imp, rows: list, people: People, importer) -> BatchResult:
    """Create the issues of one batch (reading.rows' pairs) in the caller's transaction:
    labels as needed, then each issue (in a savepoint, so one already imported by a
    concurrent run is skipped by the unique constraint, not by a check alone). A refusal
    raises RowRefused, undoing the batch."""
    project, result = imp.project, BatchResult()
    for _, problems in rows:
        if problems:
            problem = problems[0]
            raise RowRefused(f"Line {problem.line}: {problem.field}: {problem.message}")
    rows = [row for row, _ in rows]
    new = [row for row in rows if isinstance(row, Row)]
    result.skipped = len(rows) - len(new)
    done = already_imported(project, new)
    new = [row for row in new if (row.source, row.external_id) not in done]
    result.skipped += len(rows) - result.skipped - len(new)
    people.resolve(name for row in new for name in row.people())
    assignable, labels = developers(project), project_labels(project)
    for row in new:
        for name, color in row.labels:
            if name.lower() not in labels:
                labels[name.lower()] = label_create(
                    project=project, name=name, color=color or "", actor=importer
                )
    for row in new:
        prepared = prepare(row, people, assignable, importer, imp.pk)
        if prepared.problems:
            problem = prepared.problems[0]
            raise RowRefused(f"Line {problem.line}: {problem.field}: {problem.message}")
        data = ImportedIssue(
            labels=tuple(labels[name.lower()] for name, _ in row.labels), **prepared.fields
        )
        try:
            with transaction.atomic():
                issue = issue_import(project=project, actor=importer, data=data)
                Origin.objects.create(
                    project=project,
                    source=row.source,
                    external_id=row.external_id,
                    issue=issue,
                    import_run=imp,
                )
        except IntegrityError:
            # Imported meanwhile by another run of the same file: the constraint says so.
            if not already_imported(project, [row]):
                raise
            result.skipped += 1
            continue
        result.created += 1
    return result


class RowRefused(Exception):
    """A row the dry run accepted is refused now (the project changed meanwhile)."""
