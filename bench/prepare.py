"""What the scenarios need from the seeded database, printed as JSON (run by bench/run.py
with the server's environment, so the cursor is signed with the server's SECRET_KEY).

    DJANGO_SETTINGS_MODULE=bench.settings python -m bench.prepare --depth 10000
"""

import argparse
import json
import sys

PAGE_SIZE = 50


def prepare(depth: int) -> dict:
    from django.db.models import Count

    from accounts.models import User
    from accounts.pats import SCOPES
    from accounts.services import pat_create
    from api.pagination import KeysetCursorPagination
    from issues.models import Issue, IssueRelation, Label
    from projects.models import Project

    from .seed import BUSY_ISSUE, CALLER

    caller = User.objects.get(username=CALLER)
    visible = Issue.objects.visible_to(caller)
    visible_projects = Project.objects.visible_to(caller).values("pk")
    ordering = [("updated_at", True), ("id", True)]
    # The last row of page `depth - 1`: its cursor opens page `depth`.
    offset = (depth - 1) * PAGE_SIZE - 1
    row = visible.order_by("-updated_at", "-id").only("updated_at", "id")[offset : offset + 1]
    row = row[0] if row else None
    deep = KeysetCursorPagination()._encode(row, ordering, False) if row else None

    # Open, assigned issues of a project the caller maintains: start/stop them in turn.
    startable = Issue.objects.filter(
        project__key="CORE", status=Issue.Status.OPEN, assignee__isnull=False
    ).select_related("project")
    # A personal access token beside the caller's JWTs: the benchmark compares the two.
    _, pat = pat_create(user=caller, name="benchmark", scopes=list(SCOPES))
    # The visible issue with the most sub-issues: the list of its children.
    parent = (
        IssueRelation.objects.filter(type="parent", target__project__in=visible_projects)
        .values("target")
        .annotate(children=Count("id"))
        .order_by("-children", "target")
        .first()
    )
    parent = Issue.objects.select_related("project").get(pk=parent["target"]) if parent else None
    return {
        "caller": caller.username,
        "caller_id": caller.pk,
        "pat": pat,
        "visible_issues": visible.count(),
        "visible_projects": list(
            Project.objects.visible_to(caller).order_by("pk").values_list("pk", flat=True)
        ),
        "deep_cursor": deep,
        "deep_page": depth,
        "busy_issue": BUSY_ISSUE,
        "parent_key": parent.key if parent else None,
        "parent_id": parent.pk if parent else None,
        "transition_keys": [issue.key for issue in startable.order_by("-id")[:400]],
        "detail_keys": [
            issue.key
            for issue in Issue.objects.filter(project__in=Project.objects.visible_to(caller))
            .select_related("project")
            .order_by("-id")[:1000:7]
        ],
        "comment_keys": [
            issue.key
            for issue in Issue.objects.filter(project__key="WEB")
            .select_related("project")
            .order_by("-id")[:500]
        ],
        "assignee": "user07",
        # The same, resolved to ids, for the data floor of the filtered list.
        "assignee_id": User.objects.get(username="user07").pk,
        "backend_labels": list(
            Label.objects.filter(name="backend", project__in=Project.objects.visible_to(caller))
            .order_by("pk")
            .values_list("pk", flat=True)
        ),
    }


def main(argv=None) -> int:
    import django

    parser = argparse.ArgumentParser()
    parser.add_argument("--depth", type=int, default=10_000)
    args = parser.parse_args(argv)
    django.setup()
    print(json.dumps(prepare(args.depth)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
