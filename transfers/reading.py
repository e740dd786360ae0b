"""Reading an import file, which is hostile until proven otherwise (README, "Export and
import"): a size limit, no compressed files, UTF-8 or nothing, a bound on each line (one
issue), on JSON nesting and on every field, each problem named with its line.

Reading streams: the file is decoded a chunk at a time and parsed one record (one issue)
at a time, so memory stays flat whatever the file's size. `records()` yields each issue as
the file has it (a dict) with the line it starts on; `rows()` checks and maps those into
`Row`s, the issues as this tracker would create them, or says why a record is refused or
skipped. Nothing here touches the database.
"""

import codecs
import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.conf import settings

from api.errors import DomainError
from api.parsers import nesting_exceeds
from api.unicode import invalid_text_fields
from issues.models import Issue, IssueEvent, Label
from issues.services import TRACKED_FIELDS, ImportedComment, ImportedHistoryEntry

from . import formats

# Compressed files are refused (a zip bomb cannot be opened if nothing is opened): their
# first bytes, and what to call them.
COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"PK\x03\x04": "zip",
    b"PK\x05\x06": "zip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"(\xb5/\xfd": "zstd",
    b"7z\xbc\xaf'\x1c": "7z",
    b"Rar!": "rar",
}
CHUNK = 1 << 20
# Levels of nesting one issue may have (GitHub's: the issue, its comments, a comment, its
# user, and a little more for reactions and the like).
MAX_JSON_DEPTH = 16
# What an issue's external id is an id in: this tracker's exports (JSONL and CSV alike)
# name issues by key, GitHub by its issue id.
SOURCE = {"jsonl": "tracker", "csv": "tracker", "github": "github"}

TITLE_MAX = Issue._meta.get_field("title").max_length
DESCRIPTION_MAX = Issue._meta.get_field("description").max_length
LABEL_NAME_MAX = Label._meta.get_field("name").max_length
COMMENT_MAX = 20_000  # comments.models.Comment.body
LABELS_MAX = 50  # as IssueWriteSerializer takes
EXTERNAL_ID_MAX = 200
PERSON_MAX = 254
COLOR = re.compile(r"#?([0-9A-Fa-f]{6})\Z")


class FileRefused(DomainError):
    """The file cannot be read as the format it claims (a 400 naming the line)."""

    message = "The file cannot be imported."
    code = "invalid_file"

    def __init__(self, message: str, *, line: int | None = None, code: str = "invalid_file"):
        text = f"Line {line}: {message}" if line else message
        error = {"field": "file", "message": text, "code": code}
        extra = {"errors": [error]}
        if line:
            error["line"] = extra["line"] = line
        super().__init__(text, code=code, **extra)


# -- the bytes ------------------------------------------------------------------------------


def check_upload(upload) -> None:
    """Refuse, before reading on, a file over IMPORT_MAX_BYTES, empty, or compressed."""
    limit = settings.IMPORT_MAX_BYTES
    if upload.size > limit:
        raise FileRefused(
            f"The file is {upload.size} bytes; the limit is {limit} (IMPORT_MAX_BYTES).",
            code="file_too_large",
        )
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if not head.strip():
        raise FileRefused("The file is empty.", code="empty_file")
    for magic, kind in COMPRESSED.items():
        if head.startswith(magic):
            raise FileRefused(
                f"This is a {kind} file: compressed files are not accepted; upload the "
                "file itself (UTF-8 text).",
                code="compressed_file",
            )


def _text(upload) -> Iterator[tuple[int, str]]:
    """The file as UTF-8 text (without a leading BOM), chunk by chunk, each with the line
    it starts on. Bytes that are not UTF-8 are refused, naming their line."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    line, started = 1, False
    upload.seek(0)
    while True:
        chunk = upload.read(CHUNK)
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as e:
            at = line + e.object[: e.start].count(b"\n")
            raise FileRefused(
                f"not UTF-8 text (byte 0x{e.object[e.start]:02x}); save the file as UTF-8.",
                line=at,
                code="not_utf8",
            ) from e
        if text and not started:
            text, started = text.removeprefix("\ufeff"), True
        if text:
            yield line, text
            line += text.count("\n")
        if not chunk:
            return


def _lines(upload) -> Iterator[tuple[int, str]]:
    """The file's lines (with their ends) and their numbers; a line longer than
    IMPORT_MAX_RECORD_BYTES is refused."""
    limit = settings.IMPORT_MAX_RECORD_BYTES

    def too_long(number):
        return FileRefused(
            f"longer than {limit} characters (IMPORT_MAX_RECORD_BYTES).",
            line=number,
            code="line_too_long",
        )

    pending, number = "", 1
    for _, text in _text(upload):
        buffer, start = pending + text, 0
        while (end := buffer.find("\n", start)) >= 0:
            if end - start > limit:
                raise too_long(number)
            yield number, buffer[start : end + 1]
            number, start = number + 1, end + 1
        pending = buffer[start:]
        if len(pending) > limit:
            raise too_long(number)
    if pending:
        yield number, pending


def _json(text: str, line: int):
    """One JSON value (one issue) starting at `line`, with its nesting and text checked."""
    try:
        value = json.loads(text)
    except RecursionError as e:
        raise _too_deep(line) from e
    except ValueError as e:
        at = line + text.count("\n", 0, getattr(e, "pos", 0))
        raise FileRefused(f"not valid JSON: {_reason(e)}.", line=at, code="invalid_json") from e
    return _checked(value, line)


def _checked(value, line: int):
    if nesting_exceeds(value, MAX_JSON_DEPTH):
        raise _too_deep(line)
    invalid = invalid_text_fields(value)
    if invalid:
        raise FileRefused(
            f"text that is not valid Unicode (a lone surrogate) in {invalid[0]}.",
            line=line,
            code="invalid_unicode",
        )
    return value


def _too_deep(line: int) -> FileRefused:
    return FileRefused(
        f"JSON nested deeper than {MAX_JSON_DEPTH} levels.", line=line, code="too_deep"
    )


def _reason(error: ValueError) -> str:
    return getattr(error, "msg", None) or str(error)


# -- records: each format's issues as the file has them ------------------------------------


@dataclass
class Record:
    line: int
    data: dict


def records(upload, format: str) -> Iterator[Record]:
    """The issues of the file, one at a time, as the format has them."""
    reader = {"jsonl": _jsonl, "csv": _csv, "github": _github}[format]
    return reader(upload)


def _jsonl(upload) -> Iterator[Record]:
    for line, text in _lines(upload):
        if not text.strip():
            continue
        data = _json(text, line)
        if not isinstance(data, dict):
            raise FileRefused(
                "each line must be a JSON object (one issue).", line=line, code="invalid_json"
            )
        yield Record(line, data)


def _csv(upload) -> Iterator[Record]:
    lines = _lines(upload)
    reader = csv.reader((text for _, text in lines), strict=True)
    header = _next_csv(reader, 1)
    if header is None:
        raise FileRefused("The file is empty.", code="empty_file")
    _check_header([name.strip() for name in header])
    header = [name.strip() for name in header]
    while True:
        start = reader.line_num + 1
        cells = _next_csv(reader, start)
        if cells is None:
            return
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            raise FileRefused(
                f"{len(cells)} cells; the header has {len(header)}.",
                line=start,
                code="wrong_cell_count",
            )
        yield Record(
            start, {name: formats.csv_unescape(v) for name, v in zip(header, cells, strict=True)}
        )


def _next_csv(reader, line: int) -> list[str] | None:
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as e:
        raise FileRefused(f"not valid CSV: {e}.", line=line, code="invalid_csv") from e


def _check_header(header: list[str]) -> None:
    expected = ", ".join(formats.CSV_COLUMNS)
    unknown = [name for name in header if name not in formats.CSV_COLUMNS]
    if unknown:
        raise FileRefused(
            f"unknown column {', '.join(repr(n) for n in unknown)}; the header names some of "
            f"{expected} (key and title required).",
            line=1,
            code="wrong_header",
        )
    doubled = sorted({name for name in header if header.count(name) > 1})
    if doubled:
        raise FileRefused(f"column {', '.join(doubled)} twice.", line=1, code="wrong_header")
    missing = [name for name in formats.CSV_REQUIRED if name not in header]
    if missing:
        raise FileRefused(
            f"the header lacks {', '.join(missing)}; it names some of {expected} "
            "(key and title required).",
            line=1,
            code="wrong_header",
        )


_WHITESPACE = re.compile(r"[ \t\n\r]*")


class _JsonStream:
    """GitHub's issues JSON, an issue at a time: an array of issue objects, or several
    arrays one after another (as `gh api --paginate` writes the pages), never held whole."""

    def __init__(self, upload):
        self.chunks = _text(upload)
        self.buffer, self.pos, self.line, self.eof = "", 0, 1, False
        self.decoder = json.JSONDecoder()
        self.limit = settings.IMPORT_MAX_RECORD_BYTES

    def _more(self) -> bool:
        chunk = next(self.chunks, None)
        if chunk is None:
            self.eof = True
            return False
        self.buffer, self.pos = self.buffer[self.pos :] + chunk[1], 0
        return True

    def peek(self) -> str:
        """The next character that is not whitespace ("" at the end)."""
        while True:
            end = _WHITESPACE.match(self.buffer, self.pos).end()
            self.line += self.buffer.count("\n", self.pos, end)
            self.pos = end
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._more():
                return ""

    def take(self, char: str) -> None:
        self.pos += len(char)

    def value(self):
        self.peek()  # raw_decode takes no leading whitespace
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except RecursionError as e:
                raise _too_deep(self.line) from e
            except ValueError as e:
                # Perhaps only cut short by the chunk's end: read on, up to one issue's limit.
                if not self.eof and len(self.buffer) - self.pos <= self.limit and self._more():
                    continue
                at = self.line + self.buffer.count("\n", self.pos, getattr(e, "pos", self.pos))
                size = f", or an issue over {self.limit} characters" if not self.eof else ""
                raise FileRefused(
                    f"not valid JSON: {_reason(e)}{size}.", line=at, code="invalid_json"
                ) from e
            if end - self.pos > self.limit:
                raise FileRefused(
                    f"an issue over {self.limit} characters (IMPORT_MAX_RECORD_BYTES).",
                    line=self.line,
                    code="line_too_long",
                )
            line = self.line
            self.line += self.buffer.count("\n", self.pos, end)
            self.pos = end
            return _checked(value, line), line

    def refuse(self, message: str):
        raise FileRefused(message, line=self.line, code="invalid_json")


def _github(upload) -> Iterator[Record]:
    stream, arrays = _JsonStream(upload), 0
    while (char := stream.peek()) != "":
        if char != "[":
            stream.refuse("GitHub's issues JSON is an array of issues: `[{...}, ...]`.")
        stream.take("[")
        arrays += 1
        if stream.peek() == "]":
            stream.take("]")
            continue
        while True:
            value, line = stream.value()
            if not isinstance(value, dict):
                stream.refuse("each element of the array must be an issue (a JSON object).")
            yield Record(line, value)
            char = stream.peek()
            if char == "]":
                stream.take("]")
                break
            if char != ",":
                stream.refuse("expected `,` or `]` after an issue.")
            stream.take(",")
    if not arrays:
        stream.refuse("GitHub's issues JSON is an array of issues: `[{...}, ...]`.")


# -- rows: the issues as this tracker would create them -----------------------------------


# A comment and a history entry as read: the author or actor is the username in the file
# (a time may be missing), until matching puts the user in its place (importing.prepare).
CommentRow = ImportedComment
HistoryRow = ImportedHistoryEntry


@dataclass
class Row:
    """One issue to create, with the names of its people (resolved to users later)."""

    line: int
    source: str
    external_id: str
    title: str
    description: str = ""
    type: str = Issue.Type.TASK
    priority: int = Issue.Priority.MEDIUM
    status: str = Issue.Status.OPEN
    resolution: str = ""
    reporter: str | None = None
    assignee: str | None = None
    labels: list[tuple[str, str | None]] = field(default_factory=list)  # (name, colour)
    due_date: date | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    comments: list[CommentRow] = field(default_factory=list)
    history: list[HistoryRow] | None = None

    def people(self) -> set[str]:
        names = {self.reporter, self.assignee}
        names.update(comment.author for comment in self.comments)
        names.update(entry.actor for entry in self.history or ())
        return {name for name in names if name}


@dataclass
class Problem:
    line: int
    field: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict:
        return {"line": self.line, "field": self.field, "message": self.message, "code": self.code}


@dataclass
class Skip:
    line: int
    external_id: str
    reason: str


class _Fields:
    """Checks one record's values, collecting a Problem for each that fails."""

    def __init__(self, line: int):
        self.line = line
        self.problems: list[Problem] = []

    def refuse(self, name: str, message: str, code: str = "invalid") -> None:
        self.problems.append(Problem(self.line, name, message, code))

    def text(self, name, value, *, max_length: int, required: bool = False) -> str:
        if value is None:
            value = ""
        if not isinstance(value, str):
            self.refuse(name, "Must be text.")
            return ""
        if "\x00" in value:
            self.refuse(name, "Text may not contain NUL characters.")
        elif len(value) > max_length:
            self.refuse(
                name, f"At most {max_length} characters (this has {len(value)}).", "max_length"
            )
        elif required and not value.strip():
            self.refuse(name, "Required, and may not be blank.", "required")
        return value

    def choice(self, name, value, table: dict, default, known: str):
        if value is None or value == "":
            return default
        if not isinstance(value, str) or formats.lookup(table, value) is None:
            self.refuse(name, f"{value!r} is not one of {known}.", "invalid_choice")
            return default
        return formats.lookup(table, value)

    def moment(self, name, value) -> datetime | None:
        if value is None or value == "":
            return None
        try:
            moment = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            self.refuse(name, f"{value!r} is not an ISO 8601 date and time.")
            return None
        # A time without an offset is UTC (the service's time zone, and its exports').
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def day(self, name, value) -> date | None:
        if value is None or value == "":
            return None
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            self.refuse(name, f"{value!r} is not an ISO 8601 date (YYYY-MM-DD).")
            return None

    def person(self, name, value) -> str | None:
        if isinstance(value, dict):  # GitHub: a user object
            value = value.get("login")
        if value is None or value == "":
            return None
        value = self.text(name, value, max_length=PERSON_MAX)
        return value.strip() or None

    def labels(self, name, values) -> list[tuple[str, str | None]]:
        if values is None:
            return []
        if not isinstance(values, list):
            self.refuse(name, "Must be a list of labels.")
            return []
        if len(values) > LABELS_MAX:
            self.refuse(name, f"At most {LABELS_MAX} labels (this has {len(values)}).")
            return []
        labels, seen = [], set()
        for index, value in enumerate(values):
            color = None
            if isinstance(value, dict):  # {"name", "color"}: this tracker's and GitHub's
                value, color = value.get("name"), value.get("color")
            label = self.text(f"{name}.{index}", value, max_length=LABEL_NAME_MAX, required=True)
            match = COLOR.match(color) if isinstance(color, str) else None
            if label.strip() and label.lower() not in seen:
                seen.add(label.lower())
                labels.append((label, f"#{match.group(1).upper()}" if match else None))
        return labels

    def external_id(self, name, value) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return self.text(name, value, max_length=EXTERNAL_ID_MAX, required=True).strip()


_TYPES = "bug, feature, task (or defect, enhancement, story, chore)"
_PRIORITIES = (
    "lowest, low, medium, high, highest (or p0-p4, blocker, critical, major, minor, trivial)"
)
_STATUSES = ", ".join(Issue.Status.values) + " (or the other names in the README's table)"
_RESOLUTIONS = ", ".join(Issue.Resolution.values) + " (or the other names in the README's table)"


def _state(check: _Fields, status, resolution) -> tuple[str, str]:
    """Status and resolution through the mapping table; a done issue without a resolution
    was fixed, and an open one has none."""
    status = check.choice("status", status, formats.STATUSES, Issue.Status.OPEN, _STATUSES)
    resolution = check.choice("resolution", resolution, formats.RESOLUTIONS, "", _RESOLUTIONS)
    done = status in (Issue.Status.RESOLVED, Issue.Status.CLOSED)
    if resolution and not done:
        check.refuse("resolution", f"Only a resolved or closed issue has one (this is {status}).")
        resolution = ""
    elif done and not resolution:
        resolution = formats.DEFAULT_RESOLUTION
    return status, resolution


def _objects(check: _Fields, field: str, values, limit: int, what: str):
    """The objects of a list field of an issue, as (name, object) pairs, each non-object
    refused by its position (`comments.3`); None, refused, if it is no list or too long."""
    if not isinstance(values, list):
        check.refuse(field, f"Must be a list of {what}.")
        return None
    if len(values) > limit:
        check.refuse(field, f"At most {limit} {what} per issue (this has {len(values)}).")
        return None
    items = []
    for index, value in enumerate(values):
        if isinstance(value, dict):
            items.append((f"{field}.{index}", value))
        else:
            check.refuse(f"{field}.{index}", "Must be an object.")
    return items


def _comments(check: _Fields, values, *, github: bool = False) -> list[CommentRow]:
    if values is None or (github and isinstance(values, int)):
        return []  # GitHub's REST issue has a count here; comments come as a list
    items = _objects(check, "comments", values, settings.IMPORT_MAX_COMMENTS, "comments")
    if items is None:
        return []
    comments = []
    for name, value in items:
        comments.append(
            CommentRow(
                author=check.person(
                    f"{name}.{'user' if github else 'author'}",
                    value.get("user" if github else "author"),
                ),
                body=check.text(
                    f"{name}.body", value.get("body"), max_length=COMMENT_MAX, required=True
                ),
                created_at=check.moment(f"{name}.created_at", value.get("created_at")),
                updated_at=check.moment(f"{name}.updated_at", value.get("updated_at")),
                edited=value.get("edited") is True,
            )
        )
    return comments


_KINDS = ", ".join(IssueEvent.Kind.values)


def _history(check: _Fields, values, comments: int) -> list[HistoryRow] | None:
    if values is None:
        return None
    items = _objects(check, "history", values, settings.IMPORT_MAX_HISTORY, "history entries")
    if items is None:
        return None
    entries = []
    for name, value in items:
        kind = value.get("kind")
        if kind not in IssueEvent.Kind.values:
            check.refuse(f"{name}.kind", f"{kind!r} is not one of {_KINDS}.", "invalid_choice")
            continue
        created_at = check.moment(f"{name}.created_at", value.get("created_at"))
        if created_at is None:
            check.refuse(f"{name}.created_at", "Required.", "required")
        statuses = {}
        for part in ("from_status", "to_status"):
            status = value.get(part) or ""
            if status and status not in Issue.Status.values:
                check.refuse(f"{name}.{part}", f"{status!r} is not one of {_STATUSES}.")
            statuses[part] = status if status in Issue.Status.values else ""
        resolution = value.get("resolution") or ""
        if resolution not in ("", *Issue.Resolution.values):
            check.refuse(f"{name}.resolution", f"{resolution!r} is not one of {_RESOLUTIONS}.")
            resolution = ""
        changed = value.get("field") or ""
        if changed not in ("", *TRACKED_FIELDS):
            check.refuse(
                f"{name}.field", f"{changed!r} is not one of {', '.join(TRACKED_FIELDS)}."
            )
            changed = ""
        comment = value.get("comment")
        if comment is not None and (
            not isinstance(comment, int)
            or isinstance(comment, bool)
            or not 0 <= comment < comments
        ):
            check.refuse(
                f"{name}.comment", "The position of one of the issue's comments (from 0)."
            )
            comment = None
        entries.append(
            HistoryRow(
                kind=kind,
                actor=check.person(f"{name}.actor", value.get("actor")),
                created_at=created_at,
                field=changed,
                resolution=resolution,
                old_value=value.get("old_value"),
                new_value=value.get("new_value"),
                comment=comment,
                **statuses,
            )
        )
    return entries


def _row_jsonl(record: Record) -> tuple[Row | None, list[Problem]]:
    data, check = record.data, _Fields(record.line)
    status, resolution = _state(check, data.get("status"), data.get("resolution"))
    comments = _comments(check, data.get("comments"))
    row = Row(
        line=record.line,
        source=SOURCE["jsonl"],
        external_id=check.external_id("key", data.get("key")),
        title=check.text("title", data.get("title"), max_length=TITLE_MAX, required=True),
        description=check.text("description", data.get("description"), max_length=DESCRIPTION_MAX),
        type=check.choice("type", data.get("type"), formats.TYPES, Issue.Type.TASK, _TYPES),
        priority=check.choice(
            "priority",
            data.get("priority"),
            formats.PRIORITIES,
            Issue.Priority.MEDIUM,
            _PRIORITIES,
        ),
        status=status,
        resolution=resolution,
        reporter=check.person("reporter", data.get("reporter")),
        assignee=check.person("assignee", data.get("assignee")),
        labels=check.labels("labels", data.get("labels")),
        due_date=check.day("due_date", data.get("due_date")),
        created_at=check.moment("created_at", data.get("created_at")),
        updated_at=check.moment("updated_at", data.get("updated_at")),
        resolved_at=check.moment("resolved_at", data.get("resolved_at")),
        closed_at=check.moment("closed_at", data.get("closed_at")),
        comments=comments,
        history=_history(check, data.get("history"), len(comments)),
    )
    return row, check.problems


def _row_csv(record: Record) -> tuple[Row | None, list[Problem]]:
    data, check = record.data, _Fields(record.line)
    value = {name: (data.get(name) or None) for name in formats.CSV_COLUMNS}
    status, resolution = _state(check, value["status"], value["resolution"])
    row = Row(
        line=record.line,
        source=SOURCE["csv"],
        external_id=check.external_id("key", value["key"]),
        title=check.text("title", value["title"], max_length=TITLE_MAX, required=True),
        description=check.text("description", value["description"], max_length=DESCRIPTION_MAX),
        type=check.choice("type", value["type"], formats.TYPES, Issue.Type.TASK, _TYPES),
        priority=check.choice(
            "priority", value["priority"], formats.PRIORITIES, Issue.Priority.MEDIUM, _PRIORITIES
        ),
        status=status,
        resolution=resolution,
        reporter=check.person("reporter", value["reporter"]),
        assignee=check.person("assignee", value["assignee"]),
        labels=check.labels("labels", formats.labels_from_cell(value["labels"] or "")),
        due_date=check.day("due_date", value["due_date"]),
        created_at=check.moment("created_at", value["created_at"]),
        updated_at=check.moment("updated_at", value["updated_at"]),
        resolved_at=check.moment("resolved_at", value["resolved_at"]),
        closed_at=check.moment("closed_at", value["closed_at"]),
    )
    return row, check.problems


def _row_github(record: Record) -> tuple[Row | Skip | None, list[Problem]]:
    data, check = record.data, _Fields(record.line)
    external_id = check.external_id("id", data.get("id"))
    if data.get("pull_request") is not None:
        return Skip(record.line, external_id, "a pull request, not an issue"), []
    state = data.get("state")
    if state not in ("open", "closed"):
        check.refuse("state", f"{state!r} is not one of open, closed.", "invalid_choice")
    status, resolution = Issue.Status.OPEN, ""
    if state == "closed":
        reason = data.get("state_reason")
        status = Issue.Status.CLOSED
        resolution = formats.GITHUB_CLOSED.get(reason, formats.DEFAULT_RESOLUTION)
    labels = check.labels("labels", data.get("labels"))
    kind = data.get("type")
    kind = kind.get("name") if isinstance(kind, dict) else None
    type_ = formats.lookup(formats.TYPES, kind) if isinstance(kind, str) else None
    if type_ is None:
        named = [formats.GITHUB_TYPE_LABELS.get(name.lower()) for name, _ in labels]
        type_ = next((t for t in named if t), Issue.Type.TASK)
    assignee = data.get("assignee")
    if assignee is None and isinstance(data.get("assignees"), list) and data["assignees"]:
        assignee = data["assignees"][0]
    row = Row(
        line=record.line,
        source=SOURCE["github"],
        external_id=external_id,
        title=check.text("title", data.get("title"), max_length=TITLE_MAX, required=True),
        description=check.text("body", data.get("body"), max_length=DESCRIPTION_MAX),
        type=type_,
        status=status,
        resolution=resolution,
        reporter=check.person("user", data.get("user")),
        assignee=check.person("assignee", assignee),
        labels=labels,
        created_at=check.moment("created_at", data.get("created_at")),
        updated_at=check.moment("updated_at", data.get("updated_at")),
        closed_at=check.moment("closed_at", data.get("closed_at")),
        comments=_comments(check, data.get("comments"), github=True),
    )
    return row, check.problems


ROW_READERS = {"jsonl": _row_jsonl, "csv": _row_csv, "github": _row_github}


def rows(upload, format: str) -> Iterator[tuple[Row | Skip | None, list[Problem]]]:
    """Each issue of the file, checked: (a Row, []) to create, (a Skip, []) to leave
    out, or (None, the problems) when it is refused. A file that cannot be read at all
    raises FileRefused."""
    check_upload(upload)
    reader, seen = ROW_READERS[format], set()
    empty = True
    for record in records(upload, format):
        empty = False
        row, problems = reader(record)
        if problems:
            yield None, problems
            continue
        if isinstance(row, Row):
            if row.external_id in seen:
                yield None, [
                    Problem(
                        row.line,
                        "key" if format != "github" else "id",
                        f"{row.external_id!r} appears twice in the file.",
                        "duplicate",
                    )
                ]
                continue
            seen.add(row.external_id)
        yield row, []
    if empty:
        raise FileRefused("The file holds no issue.", code="empty_file")
