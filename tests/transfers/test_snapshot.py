"""On PostgreSQL an export reads one snapshot (REPEATABLE READ): changes committed while it
runs are not in it, and its progress is readable meanwhile. Through PgBouncer too, since
it reads in keyset batches (no server-side cursor). Imports meanwhile leave the API free
between their batches."""

import threading

import pytest
from django.db import connection

from issues.models import Issue
from issues.services import issue_create
from tests.factories import IssueFactory
from tests.threads import race
from transfers import exporting, importing, services
from transfers.models import Export

from .helpers import jsonl, read_jsonl, upload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def elsewhere(job):
    """`job()` in another thread, over its own connection, committed there."""
    return race([job])[0]


@pytest.fixture
def thirty(project):
    owner = project.created_by
    return [IssueFactory(project=project, reporter=owner, title=f"Issue {n}") for n in range(30)]


def test_an_export_reads_one_snapshot_while_others_write(
    project, thirty, settings, monkeypatch, _transfers_storage
):
    settings.EXPORT_BATCH_SIZE = 10
    batches, seen = exporting.issue_batches, {}

    def meanwhile(issues, **kwargs):
        for number, batch in enumerate(batches(issues, **kwargs)):
            yield batch
            if number == 0:
                # After the first batch: progress is visible from outside the snapshot...
                seen["progress"] = elsewhere(
                    lambda: Export.objects.values("total", "written", "status").get()
                )

                # ... and what others commit now is not in it.
                def change():
                    Issue.objects.filter(pk=thirty[25].pk).update(title="Changed meanwhile")
                    Issue.objects.filter(pk=thirty[15].pk).delete()
                    IssueFactory(project=project, reporter=project.created_by, title="New")

                elsewhere(change)

    monkeypatch.setattr(exporting, "issue_batches", meanwhile)

    # Committed at once (no test transaction here), so its job runs now.
    export = services.export_create(
        project=project, requested_by=project.created_by, format="jsonl", filters={}
    )

    assert seen["progress"] == {"total": 30, "written": 10, "status": "running"}
    export.refresh_from_db()
    assert (export.status, export.written) == ("done", 30)
    records = read_jsonl((_transfers_storage / export.file).read_bytes())
    assert [r["title"] for r in records] == [f"Issue {n}" for n in range(30)]
    # The changes were committed all the same.
    assert Issue.objects.get(pk=thirty[25].pk).title == "Changed meanwhile"
    assert Issue.objects.filter(project=project).count() == 30


def test_the_snapshot_transaction_is_repeatable_read_and_read_only(project, thirty, monkeypatch):
    batches, modes = exporting.issue_batches, []

    def record(issues, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            isolation = cursor.fetchone()[0]
            cursor.execute("SHOW transaction_read_only")
            modes.append((isolation, cursor.fetchone()[0]))
        yield from batches(issues, **kwargs)

    monkeypatch.setattr(exporting, "issue_batches", record)

    services.export_create(
        project=project, requested_by=project.created_by, format="csv", filters={}
    )

    assert modes == [("repeatable read", "on")]
    assert Export.objects.get().status == "done"


def test_an_import_does_not_hold_other_writers_between_batches(project, settings, monkeypatch):
    """Each batch commits: a write of the API that arrives during an import waits for the
    batch in flight, not for the whole import."""
    settings.IMPORT_BATCH_SIZE = 5
    settings.IMPORT_BATCH_PAUSE = 0.2
    write, api = importing.write_batch, []

    def create():
        return issue_create(project=project, reporter=project.created_by, title="API")

    def first_batch_then_the_api(**kwargs):
        result = write(**kwargs)
        if not api:  # in the first batch's transaction, which holds the project's numbers
            api.append(threading.Thread(target=lambda: race([create])))
            api[0].start()
        return result

    monkeypatch.setattr(importing, "write_batch", first_batch_then_the_api)

    services.import_create(  # its job runs at once (no test transaction here)
        project=project,
        importer=project.created_by,
        format="jsonl",
        upload=upload(jsonl([{"key": f"A-{n}", "title": f"I{n}"} for n in range(20)])),
    )
    api[0].join(timeout=30)

    numbers = dict(Issue.objects.filter(project=project).values_list("title", "number"))
    assert len(numbers) == 21
    assert numbers["API"] == 6  # right after the first batch, not after the whole import
