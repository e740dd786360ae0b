"""Export a project with comments and history, import it into an empty project, export
again: the same issues, comments and history (ids and keys aside; the history gains the
entry recording the import)."""

import pytest

from events.models import Event
from issues.models import Issue, IssueEvent
from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory
from transfers.models import Import

from .helpers import download, read_jsonl, upload

pytestmark = pytest.mark.django_db


def export_jsonl(client, project, jobs) -> list[dict]:
    with jobs():
        answer = client.post(
            f"/api/v1/projects/{project.key}/exports",
            {"format": "jsonl", "include": ["comments", "history"]},
            format="json",
        )
    assert answer.status_code == 202, answer.content
    return read_jsonl(download(client, answer["Location"]))


def comparable(records: list[dict]) -> list[dict]:
    """What must survive the trip: all but the key and number, and the history's entries
    that record imports."""
    kept = []
    for record in records:
        record = {k: v for k, v in record.items() if k not in ("key", "number")}
        record["history"] = [e for e in record["history"] if e["kind"] != "imported"]
        kept.append(record)
    return kept


def test_an_exported_project_imports_into_an_empty_one_unchanged(
    rich_project, owner, client_for, jobs
):
    client = client_for(owner)
    first = export_jsonl(client, rich_project, jobs)
    assert len(first) == 3
    assert [len(r["comments"]) for r in first] == [2, 1, 0]
    target = ProjectFactory(visibility="private", key="COPY")
    MembershipFactory(project=target, user=owner, role=Role.OWNER)
    for membership in rich_project.memberships.exclude(user=owner):
        MembershipFactory(project=target, user=membership.user, role=membership.role)
    content = "".join(__import__("json").dumps(r) + "\n" for r in first)

    with jobs():
        started = client.post(
            f"/api/v1/projects/{target.key}/imports",
            {"file": upload(content), "format": "jsonl"},
            format="multipart",
        )

    assert started.status_code == 202, started.content
    imp = Import.objects.get()
    assert imp.status == "done", imp.error
    assert (imp.created, imp.skipped) == (3, 0)
    second = export_jsonl(client, target, jobs)
    assert comparable(second) == comparable(first)
    # Each issue's history ends with the import, made by the importer, naming the source.
    for record in second:
        imported = record["history"][-1]
        assert imported["kind"] == "imported"
        assert imported["actor"] == owner.username
        assert imported["new_value"]["source"] == "tracker"
        assert imported["new_value"]["import_id"] == imp.pk
    assert [r["history"][-1]["new_value"]["external_id"] for r in second] == [
        r["key"] for r in first
    ]
    # The normal events, each carrying the import's bulk_id.
    events = Event.objects.filter(project=target, bulk_id=imp.bulk_id)
    assert sorted(events.values_list("type", flat=True)) == sorted(
        ["label.created"] * 2 + ["issue.created"] * 3 + ["comment.created"] * 3
    )
    assert Issue.objects.filter(project=target).count() == 3
    assert IssueEvent.objects.filter(issue__project=target, kind="imported").count() == 3
