"""What the files look like: the CSV's columns and cells, and the table that maps other
trackers' statuses, resolutions, types and priorities onto this one's (README, "Export and
import", which prints these tables)."""

import csv
import io
import re

from issues.models import Issue
from issues.representation import ISSUE_FIELDS

# The CSV's header, in this order (an import takes any order, `key` and `title` required).
CSV_COLUMNS = ("key", *ISSUE_FIELDS[ISSUE_FIELDS.index("title") :])
CSV_REQUIRED = ("key", "title")

# A cell starting with one of these is a formula to a spreadsheet (OWASP, "CSV Injection"):
# it is written with a leading `'`, which spreadsheets show as text and the import removes.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = re.compile(r"'*[=+\-@\t\r]")


_FIRST = frozenset("'=+-@\t\r")


def csv_escape(value: str) -> str:
    """A cell a spreadsheet shows as text: `=1+1` becomes `'=1+1`. Text that already starts
    with quotes before a trigger gets one more, so csv_unescape gives back exactly it."""
    if not value or value[0] not in _FIRST:  # most cells: no regular expression
        return value
    return f"'{value}" if _ESCAPED.match(value) else value


def csv_unescape(value: str) -> str:
    """The text csv_escape was given."""
    return value[1:] if value.startswith("'") and _ESCAPED.match(value[1:]) else value


def labels_cell(names: list[str]) -> str:
    """Label names in one cell: a CSV line of its own (`bug,"a, b"`), so any name survives."""
    if not names:
        return ""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(names)
    return out.getvalue()


def labels_from_cell(cell: str) -> list[str]:
    if not cell.strip():
        return []
    return [name.strip() for name in next(csv.reader([cell], skipinitialspace=True))]


def _key(value: str) -> str:
    """`Won't Fix`, `wont-fix` and `WONT_FIX` alike: lower case, words joined by `_`."""
    return re.sub(r"[\s\-]+", "_", value.strip().lower().replace("'", ""))


OPEN, IN_PROGRESS, IN_REVIEW = "open", "in_progress", "in_review"
RESOLVED, CLOSED = "resolved", "closed"

# Other trackers' words for a status (compared as _key does), and this tracker's own.
STATUSES = {
    **{s: s for s in Issue.Status.values},
    "new": OPEN,
    "todo": OPEN,
    "to_do": OPEN,
    "backlog": OPEN,
    "reopened": OPEN,
    "doing": IN_PROGRESS,
    "started": IN_PROGRESS,
    "review": IN_REVIEW,
    "code_review": IN_REVIEW,
    "done": CLOSED,
}
RESOLUTIONS = {
    **{r: r for r in Issue.Resolution.values},
    "": "",
    "unresolved": "",
    "none": "",
    "done": "fixed",
    "completed": "fixed",
    "duplicated": "duplicate",
    "wontfix": "wont_fix",
    "wont_do": "wont_fix",
    "not_planned": "wont_fix",
    "declined": "wont_fix",
    "cant_reproduce": "cannot_reproduce",
    "works_for_me": "cannot_reproduce",
    "stale": "obsolete",
    "outdated": "obsolete",
}
# A resolved or closed issue that names no resolution was fixed (as `resolve` assumes).
DEFAULT_RESOLUTION = "fixed"
TYPES = {
    **{t: t for t in Issue.Type.values},
    "defect": "bug",
    "enhancement": "feature",
    "feature_request": "feature",
    "story": "feature",
    "chore": "task",
}
PRIORITIES = {
    **{p.label: p.value for p in Issue.Priority},
    "blocker": Issue.Priority.HIGHEST,
    "critical": Issue.Priority.HIGHEST,
    "urgent": Issue.Priority.HIGHEST,
    "p0": Issue.Priority.HIGHEST,
    "major": Issue.Priority.HIGH,
    "p1": Issue.Priority.HIGH,
    "normal": Issue.Priority.MEDIUM,
    "p2": Issue.Priority.MEDIUM,
    "minor": Issue.Priority.LOW,
    "p3": Issue.Priority.LOW,
    "trivial": Issue.Priority.LOWEST,
    "p4": Issue.Priority.LOWEST,
}
# GitHub: a closed issue's `state_reason`; an open one is open. Its issue type's name
# (`type.name`) maps through TYPES; without one, a label `bug` makes a bug and a label
# `enhancement` or `feature` a feature.
GITHUB_CLOSED = {
    "completed": "fixed",
    "not_planned": "wont_fix",
    "duplicate": "duplicate",
}
GITHUB_TYPE_LABELS = {"bug": "bug", "enhancement": "feature", "feature": "feature"}


def lookup(table: dict, value: str):
    """`value` through `table` (as _key compares), or None if it names nothing there."""
    return table.get(_key(value))
