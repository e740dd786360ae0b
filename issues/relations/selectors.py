"""Reads of relations that an issue's representation shows: its parent, its children's
counts and its open blockers (every issue carries them), and with `?expand=relations` the
full list. Each is one query for any number of issues, and counts only relations whose
other issue the reader may see, so no number gives away an issue they cannot see.

`reader` is a Caller or a user; None is an event's payload, read by anyone who reads the
issue's project: it counts issues of the same project and of internal projects. (The
benchmark's data floor, which has no caller, names the projects seen as a list of ids.)"""

from collections import defaultdict

from django.db import connection
from django.db.models import F, Q

from projects.models import Project

from ..models import Issue, IssueRelation
from ..representation import relation_data, summarise_relations

Type = IssueRelation.Type


def _visible(side: str, reader) -> Q:
    """The relations whose issue on `side` (`source` or `target`) `reader` may see."""
    if reader is None:
        return Q(**{f"{side}__project__visibility": Project.Visibility.INTERNAL}) | Q(
            source__project_id=F("target__project_id")
        )
    if isinstance(reader, list | tuple):  # the ids of the projects seen (the benchmark's)
        return Q(**{f"{side}__project__in": reader})
    return Q(**{f"{side}__project__in": Project.objects.visible_to(reader).values("pk")})


def relation_summaries(issue_ids, reader) -> dict[int, dict]:
    """For each issue of `issue_ids` (issues `reader` sees): its `parent` (key and title,
    or None), its `children` (open and total), its `open_blockers` and whether it is
    `blocked`.

    Every issue carries these, so this runs on every issue read, and is written as SQL:
    the ORM took three times as long to build the query as the database to answer it
    (README, "Performance"). The query reads the relations of those issues with both
    issues' projects, no visibility subquery: the reader sees the issues' own projects,
    so only a relation to another project is checked, against the projects the reader
    sees, read only when such a relation is there. tests/relations hold the answer equal
    to the ORM's query that filters visibility in SQL."""
    ids = [int(pk) for pk in issue_ids]
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_SUMMARY_SQL.format(ids=", ".join(["%s"] * len(ids))), [*ids, *ids])
        rows = cursor.fetchall()
    across = {project for *_, a, b in rows if a != b for project in (a, b)}
    seen = _projects_seen(reader, across) if across else set()
    asked, shown = set(ids), []
    for *row, source_project, target_project in rows:
        type, source, target = row[0], row[1], row[2]
        # Across projects, shown where it counts for an asked issue whose other issue the
        # reader sees.
        if source_project != target_project and not (
            (target in asked and source_project in seen)
            or (source in asked and type == Type.PARENT and target_project in seen)
        ):
            continue
        shown.append(row)
    return summarise_relations(ids, shown)


# RELATION_SUMMARY_COLUMNS, then the source's and the target's project: of the relations
# where an issue asked for is the target (its children and blockers) or the child.
_SUMMARY_SQL = f"""
    SELECT r.type, r.source_id, r.target_id, s.status, p.key, t.number, t.title,
           s.project_id, t.project_id
      FROM {IssueRelation._meta.db_table} r
      JOIN {Issue._meta.db_table} t ON t.id = r.target_id
      JOIN {Issue._meta.db_table} s ON s.id = r.source_id
      JOIN {Project._meta.db_table} p ON p.id = t.project_id
     WHERE (r.target_id IN ({{ids}}) AND r.type IN ('{Type.BLOCKS}', '{Type.PARENT}'))
        OR (r.source_id IN ({{ids}}) AND r.type = '{Type.PARENT}')
"""  # noqa: S608 - table names and the types' values, no input; ids are parameters


def _projects_seen(reader, candidates: set[int]) -> set[int]:
    """Which of `candidates` (project ids) `reader` sees; for an event's payload (None),
    the internal ones, which every reader of a project sees."""
    if reader is None:
        internal = Project.objects.filter(
            pk__in=candidates, visibility=Project.Visibility.INTERNAL
        )
        return set(internal.values_list("pk", flat=True))
    if isinstance(reader, list | tuple):  # the ids of the projects seen (the benchmark's)
        return set(reader)
    return set(Project.objects.visible_to(reader).values_list("pk", flat=True))


def relations_expanded(issue_ids, reader) -> dict[int, list[dict]]:
    """Each issue's relations as its relations endpoint lists them (`?expand=relations`),
    those whose other issue `reader` may see, oldest first."""
    ids = set(issue_ids)
    relations = defaultdict(list)
    if not ids:
        return relations
    rows = (
        IssueRelation.objects.filter(
            (Q(source_id__in=ids) & _visible("target", reader))
            | (Q(target_id__in=ids) & _visible("source", reader))
        )
        .select_related("source__project", "target__project")
        .order_by("created_at", "id")
    )
    for relation in rows:
        for pk in (relation.source_id, relation.target_id):
            if pk in ids:
                relations[pk].append(relation_data(relation, pk))
    return relations
