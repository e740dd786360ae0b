"""An issue as clients read it, and its labels: the one place their JSON is built.

The API (IssueSerializer, the lists' rows in issues/serializers.py, LabelSerializer), the
events' payloads (issues/services.py) and the benchmark's references (bench/views.py and
bench/bare.py) all build it here. An issue is built from a row of plain values (the
ISSUE_ROW_FIELDS a list reads with `.values()`, or `issue_row()` of an instance), its
labels and a function giving an issue's URL from its key (api.links.detail_urls): lists
render 50 issues with four nested objects each, and DRF's field-by-field machinery cost
more than the database. The serializers' declared fields still describe the schema, and
tests/perf/test_issue_representation.py keeps this equal to what they would give.

Nothing here needs Django's settings: bench/bare.py, a WSGI app without Django, renders
with it too.
"""

from accounts.representation import USER_SUMMARY_FIELDS, user_summary
from api.links import detail_url, detail_urls
from api.representation import utc_iso

from .choices import Priority

ISSUE_URL = "issue-detail"  # the route of an issue's address, by key
# The issue's representation: its fields, in order (IssueSerializer declares them; the
# CSV export takes the same, from `key` on).
ISSUE_FIELDS = (
    "id",
    "url",
    "key",
    "number",
    "project",
    "title",
    "description",
    "type",
    "priority",
    "status",
    "resolution",
    "reporter",
    "assignee",
    "labels",
    "due_date",
    "created_at",
    "updated_at",
    "resolved_at",
    "closed_at",
)
# What every issue shows of its relations (issues/relations/selectors.py reads it, as the
# reader may see them): its parent, its children's counts, its open blockers.
RELATION_FIELDS = ("parent", "children", "open_blockers", "blocked")
PEOPLE = ("reporter", "assignee")
# The issue's own columns its representation shows, as `.values()` names them: the fields
# that are columns of its row, and the project's id.
ISSUE_COLUMNS = (
    "id",
    "project_id",
    "number",
    *(name for name in ISSUE_FIELDS[5:] if name not in (*PEOPLE, "labels")),
    "attachment_count",
)
# What an issue's representation reads per issue, besides its labels: its columns and the
# few of its project and people it shows.
ISSUE_ROW_FIELDS = (
    *ISSUE_COLUMNS,
    "project__key",
    "project__name",
    *(f"{who}__{name}" for who in PEOPLE for name in USER_SUMMARY_FIELDS),
)


def issue_data(row: dict, labels: list[dict], url, relations: dict) -> dict:
    """An issue's representation from its row (ISSUE_ROW_FIELDS), its labels (each a
    label_summary, by name), `url`, which gives an issue's address from its key, and its
    relations' summary (RELATION_FIELDS)."""
    key = f"{row['project__key']}-{row['number']}"
    return {
        "id": row["id"],
        "url": url(key),
        "key": key,
        "number": row["number"],
        "project": {
            "id": row["project_id"],
            "key": row["project__key"],
            "name": row["project__name"],
        },
        "title": row["title"],
        "description": row["description"],
        "type": row["type"],
        "priority": Priority(row["priority"]).label,
        "status": row["status"],
        "resolution": row["resolution"] or None,
        "reporter": _person(row, "reporter"),
        "assignee": _person(row, "assignee"),
        "labels": labels,
        "due_date": row["due_date"].isoformat() if row["due_date"] else None,
        "created_at": utc_iso(row["created_at"]),
        "updated_at": utc_iso(row["updated_at"]),
        "resolved_at": utc_iso(row["resolved_at"]),
        "closed_at": utc_iso(row["closed_at"]),
        "attachment_count": row["attachment_count"],
        **relations,
    }


def _person(row: dict, who: str) -> dict | None:
    """user_summary of the row's reporter or assignee (None for none)."""
    if row[f"{who}__id"] is None:
        return None
    return {name: row[f"{who}__{name}"] for name in USER_SUMMARY_FIELDS}


def issue_row(issue) -> dict:
    """An issue read with its project and people, as the row issue_data takes."""
    row = {name: getattr(issue, name) for name in ISSUE_COLUMNS}
    row |= {"project__key": issue.project.key, "project__name": issue.project.name}
    for who in PEOPLE:
        person = user_summary(getattr(issue, who)) or dict.fromkeys(USER_SUMMARY_FIELDS)
        row |= {f"{who}__{name}": value for name, value in person.items()}
    return row


def issue_labels(issue) -> list[dict]:
    """The issue's labels by name: those prefetched into a list (issues.selectors), or read."""
    labels = getattr(issue, "prefetched_labels", None)
    if labels is None:
        labels = issue.labels.all()
    return [label_summary(label) for label in labels]


def issue_representation(issue, request=None, relations: dict | None = None) -> dict:
    """An issue as its GET answers it (as the request's caller may see its relations);
    without a request (an event's payload) its `url` is a path, and its relations are
    those every reader of its project may see. `relations`: its summary, already read."""
    if relations is None:
        relations = getattr(issue, "relations_known", None)
    if relations is None and request is None:
        relations = getattr(issue, "public_relations", None)
    if relations is None:
        # Imported here: bench/bare.py renders issues with this module, without Django.
        from accounts.callers import Caller

        from .relations.selectors import relation_summaries

        reader = Caller.of(request) if request is not None else None
        relations = relation_summaries([issue.pk], reader)[issue.pk]
    row, url = issue_row(issue), detail_urls(ISSUE_URL, request)
    return issue_data(row, issue_labels(issue), url, relations)


def label_summary(label) -> dict:
    """A label as an issue shows it."""
    return {"id": label.id, "name": label.name, "color": label.color}


def label_data(label, request=None) -> dict:
    """A label as its GET answers it (with its project, for its `url`)."""
    return {
        "id": label.id,
        "url": detail_url("label-detail", label.project.key, label.pk, request=request),
        "name": label.name,
        "color": label.color,
        "description": label.description,
        "created_at": utc_iso(label.created_at),
    }


# The columns a relation's row gives relation_summaries, in order (and the statuses that
# count as open, as Issue.OPEN_STATUSES; bench/bare.py reads them without Django).
RELATION_SUMMARY_COLUMNS = (
    "type",
    "source_id",
    "target_id",
    "source__status",
    "target__project__key",
    "target__number",
    "target__title",
)
OPEN_STATUSES = frozenset({"open", "in_progress", "in_review"})


def summarise_relations(issue_ids, rows) -> dict[int, dict]:
    """For each issue of `issue_ids`: its `parent` (key and title, or None), its
    `children` (open and total), its `open_blockers` and whether it is `blocked`, from the
    rows (RELATION_SUMMARY_COLUMNS) of its parent, children and blockers relations."""
    summaries = {
        pk: {"parent": None, "children": {"open": 0, "total": 0}, "open_blockers": 0}
        for pk in issue_ids
    }
    for type, source, target, status, key, number, title in rows:
        is_open = status in OPEN_STATUSES
        if type == "parent" and source in summaries:
            summaries[source]["parent"] = {"key": f"{key}-{number}", "title": title}
        if target not in summaries:
            continue
        if type == "parent":
            summaries[target]["children"]["total"] += 1
            summaries[target]["children"]["open"] += is_open
        elif is_open:  # a blocker
            summaries[target]["open_blockers"] += 1
    for summary in summaries.values():
        summary["blocked"] = summary["open_blockers"] > 0
    return summaries


def no_relations() -> dict:
    """The relations' summary of an issue that has none."""
    return summarise_relations([0], [])[0]


def forget_relations(issue) -> None:
    """After a change of `issue`'s relations: their summaries read before it (an issue's
    `relations_known`, the same for every reader, as a new issue's; its
    `public_relations`, an event's, read with other issues') no longer hold."""
    issue.__dict__.pop("relations_known", None)
    issue.__dict__.pop("public_relations", None)


def relation_data(relation, issue_pk: int) -> dict:
    """A relation as the issue `issue_pk` reads it: its type in that issue's words and the
    other issue (key, title, status, project). Both issues come with their projects."""
    outgoing = relation.source_id == issue_pk
    other = relation.target if outgoing else relation.source
    inverse = {"blocks": "blocked_by", "duplicate_of": "duplicated_by", "parent": "child"}
    return {
        "id": relation.pk,
        "type": relation.type if outgoing else inverse.get(relation.type, relation.type),
        "issue": {
            "key": f"{other.project.key}-{other.number}",
            "title": other.title,
            "status": other.status,
            "project": other.project.key,
        },
        "created_at": utc_iso(relation.created_at),
    }
