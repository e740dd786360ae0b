"""Reads of relations that an issue's representation shows: its parent, its children's
counts and its open blockers (every issue carries them), and with `?expand=relations` the
full list. Each is one query for any number of issues, and counts only relations whose
other issue the reader may see, so no number gives away an issue they cannot see.

`reader` is a Caller or a user; None is an event's payload, read by anyone who reads the
issue's project: it counts issues of the same project and of internal projects. (The
benchmark's data floor, which has no caller, names the projects seen as a list of ids.)"""

from collections import defaultdict

from django.db.models import F, Q

from projects.models import Project

from ..models import IssueRelation
from ..representation import RELATION_SUMMARY_COLUMNS, relation_data, summarise_relations

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
    """For each issue of `issue_ids`: its `parent` (key and title, or None), its
    `children` (open and total), its `open_blockers` and whether it is `blocked`."""
    ids = list(issue_ids)
    if not ids:
        return {}
    rows = IssueRelation.objects.filter(
        # its children and blockers (the other issue is the source), its parent (the target)
        (Q(target_id__in=ids, type__in=(Type.BLOCKS, Type.PARENT)) & _visible("source", reader))
        | (Q(source_id__in=ids, type=Type.PARENT) & _visible("target", reader))
    ).values_list(*RELATION_SUMMARY_COLUMNS)
    return summarise_relations(ids, rows)


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
