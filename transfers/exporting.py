"""Writing an export: the issues the issue list's filters select, read in keyset batches
(by number: a page of rows, then their labels, comments and history, by id) and written a
line at a time, so memory stays flat however many issues there are. No server-side cursor
is needed, so it works the same through PgBouncer (DATABASE_POOLER=pgbouncer turns them
off: a queryset's .iterator() would then read the whole result into memory)."""

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from types import SimpleNamespace

import django_filters
import orjson
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from api.fields import utc_iso
from api.filters import MAX_REPEATS
from comments.models import Comment
from issues.filters import IssueFilter, IssueSearchFilter
from issues.models import Issue, IssueEvent
from issues.representation import PEOPLE

from . import formats

# The issue list's filters an export takes (`project`: an export is of one project), and
# its search.
SEARCH = IssueSearchFilter.param
FILTERS = {name: f for name, f in IssueFilter.base_filters.items() if name != "project"}
REPEATABLE = {
    name for name, f in FILTERS.items() if isinstance(f, django_filters.MultipleChoiceFilter)
}
INCLUDES = ("comments", "history")

# The issue's columns the export reads, in the CSV's order (its labels come apart).
ISSUE_FIELDS = (
    "id",
    "number",
    *(
        f"{name}__username" if name in PEOPLE else name
        for name in formats.CSV_COLUMNS[1:]
        if name != "labels"
    ),
)


def check_filters(filters) -> dict[str, list[str]]:
    """The filters of an export request, as the issue list's query parameters: each a
    string, or for a repeatable one a list of up to MAX_REPEATS strings; blank is absent."""
    if not isinstance(filters, dict):
        raise ValidationError({"filters": "An object of the issue list's filters."})
    errors, params = {}, {}
    for name, value in filters.items():
        field = f"filters.{name}"
        values = value if isinstance(value, list) else [value]
        if name not in FILTERS and name != SEARCH:
            taken = ", ".join(sorted([*FILTERS, SEARCH]))
            errors[field] = f"Unknown filter; an export takes: {taken}."
        elif not all(isinstance(v, str) for v in values):
            errors[field] = "Text, or a list of text for a repeatable filter."
        elif len(values) > 1 and name not in REPEATABLE:
            errors[field] = "Give this filter once."
        elif len(values) > MAX_REPEATS:
            errors[field] = f"At most {MAX_REPEATS} values."
        elif any(v != "" for v in values):
            params[name] = [v for v in values if v != ""]
    if errors:
        raise ValidationError(errors)
    return params


def issues_selected(*, project, user, filters: dict[str, list[str]]):
    """The project's issues that `GET /projects/{key}/issues` would list with these query
    parameters for `user` (the same filterset and search, so they behave identically)."""
    params = QueryDict(mutable=True)
    for name, values in filters.items():
        params.setlist(name, values)
    request = SimpleNamespace(user=user, query_params=params)  # what the filters read
    filterset = IssueFilter(
        data=params, queryset=Issue.objects.filter(project=project), request=request
    )
    try:
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        issues = filterset.qs
        return IssueSearchFilter().filter_queryset(request, issues, None)
    except ValidationError as e:
        detail = e.detail if isinstance(e.detail, dict) else {"filters": e.detail}
        raise ValidationError({f"filters.{name}": value for name, value in detail.items()}) from e


def issue_batches(issues, *, include, size: int) -> Iterator[list[dict]]:
    """The issues of `issues`, by number, `size` at a time, each as its JSONL object."""
    last = 0
    while True:
        page = issues.filter(number__gt=last).order_by("number")
        rows = [
            dict(zip(ISSUE_FIELDS, row, strict=True))
            for row in page.values_list(*ISSUE_FIELDS)[:size]
        ]
        if not rows:
            return
        last = rows[-1]["number"]
        yield _records(rows, include)


def _records(rows: list[dict], include) -> list[dict]:
    ids = [row["id"] for row in rows]
    labels = defaultdict(list)
    tagged = Issue.labels.through.objects.filter(issue_id__in=ids).order_by("label__name")
    for issue_id, name, color in tagged.values_list("issue_id", "label__name", "label__color"):
        labels[issue_id].append({"name": name, "color": color})
    comments, positions = defaultdict(list), {}
    if "comments" in include:
        found = Comment.objects.filter(issue_id__in=ids).order_by("issue_id", "created_at", "id")
        for c in found.values(
            "id", "issue_id", "author__username", "body", "created_at", "updated_at", "edited"
        ):
            positions[c["id"]] = len(comments[c["issue_id"]])
            comments[c["issue_id"]].append(
                {
                    "author": c["author__username"],
                    "body": c["body"],
                    "created_at": utc_iso(c["created_at"]),
                    "updated_at": utc_iso(c["updated_at"]),
                    "edited": c["edited"],
                }
            )
    history = defaultdict(list)
    if "history" in include:
        found = IssueEvent.objects.filter(issue_id__in=ids).order_by(
            "issue_id", "created_at", "id"
        )
        for e in found.values(
            "issue_id",
            "kind",
            "actor__username",
            "from_status",
            "to_status",
            "resolution",
            "field",
            "old_value",
            "new_value",
            "comment_id",
            "created_at",
        ):
            history[e["issue_id"]].append(
                {
                    "kind": e["kind"],
                    "actor": e["actor__username"],
                    "from_status": e["from_status"] or None,
                    "to_status": e["to_status"] or None,
                    "resolution": e["resolution"] or None,
                    "field": e["field"] or None,
                    "old_value": e["old_value"],
                    "new_value": e["new_value"],
                    "comment": positions.get(e["comment_id"]),
                    "created_at": utc_iso(e["created_at"]),
                }
            )
    records = []
    for row in rows:
        record = {
            "key": None,  # filled by the writer, which knows the project's key
            "number": row["number"],
            "title": row["title"],
            "description": row["description"],
            "type": row["type"],
            "priority": Issue.Priority(row["priority"]).label,
            "status": row["status"],
            "resolution": row["resolution"] or None,
            "reporter": row["reporter__username"],
            "assignee": row["assignee__username"],
            "labels": labels[row["id"]],
            "due_date": row["due_date"].isoformat() if row["due_date"] else None,
            "created_at": utc_iso(row["created_at"]),
            "updated_at": utc_iso(row["updated_at"]),
            "resolved_at": utc_iso(row["resolved_at"]),
            "closed_at": utc_iso(row["closed_at"]),
        }
        if "comments" in include:
            record["comments"] = comments[row["id"]]
        if "history" in include:
            record["history"] = history[row["id"]]
        records.append(record)
    return records


class JsonlWriter:
    """One issue per line, as this tracker imports it back."""

    def __init__(self, out, project_key: str, bom: bool = False):
        self.out, self.key = out, project_key

    def write(self, record: dict) -> None:
        record["key"] = f"{self.key}-{record['number']}"
        self.out.write(orjson.dumps(record))
        self.out.write(b"\n")

    def close(self) -> None:
        pass


class CsvWriter:
    """The documented header, then one row per issue: labels in one cell, times in ISO 8601
    UTC, every cell a formula could start escaped (formats.csv_escape)."""

    def __init__(self, out, project_key: str, bom: bool = False):
        self.text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
        if bom:  # so spreadsheets take it for UTF-8
            self.text.write("\ufeff")
        self.writer = csv.writer(self.text, lineterminator="\r\n")
        self.writer.writerow(formats.CSV_COLUMNS)
        self.key = project_key

    def write(self, record: dict) -> None:
        record["key"] = f"{self.key}-{record['number']}"
        cells = {**record, "labels": formats.labels_cell([x["name"] for x in record["labels"]])}
        self.writer.writerow(
            [formats.csv_escape(str(cells[name] or "")) for name in formats.CSV_COLUMNS]
        )

    def close(self) -> None:
        self.text.flush()
        self.text.detach()  # the file is the caller's to close


WRITERS = {"csv": CsvWriter, "jsonl": JsonlWriter}
