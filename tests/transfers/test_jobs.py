"""The jobs behind exports and imports: imports in batches, each committed with its resume
point; what a failed import leaves and how it is resumed; slices; the sweeper restarting
jobs whose worker died."""

from datetime import timedelta

import pytest
from django.utils import timezone

from issues.models import Issue
from projects.models import Project
from transfers import importing, services
from transfers.models import Export, Import, ImportedIssue

from .helpers import jsonl, upload

pytestmark = pytest.mark.django_db

FIVE = jsonl([{"key": f"A-{n}", "title": f"Issue {n}"} for n in range(1, 6)])


@pytest.fixture
def queued(project, owner, settings):
    """An import of five issues, queued (its job not run), in batches of two."""
    settings.IMPORT_BATCH_SIZE = 2
    return services.import_create(
        project=project, importer=owner, format="jsonl", upload=upload(FIVE)
    )


def test_an_import_commits_each_batch_with_its_resume_point(queued, monkeypatch):
    seen = []
    write = importing.write_batch

    def spy(**kwargs):
        seen.append((Import.objects.get().processed, len(kwargs["rows"])))
        return write(**kwargs)

    monkeypatch.setattr(importing, "write_batch", spy)

    assert services.import_run(import_id=queued.pk) is False

    assert seen == [(0, 2), (2, 2), (4, 1)]
    queued.refresh_from_db()
    assert (queued.status, queued.processed, queued.created) == ("done", 5, 5)
    assert queued.started_at <= queued.finished_at


def test_a_failed_import_keeps_its_committed_batches_and_is_resumed_by_importing_again(
    queued, project, owner, monkeypatch, client_for, django_capture_on_commit_callbacks
):
    write = importing.write_batch

    def archived_after_the_first_batch(**kwargs):
        result = write(**kwargs)
        Project.objects.filter(pk=project.pk).update(archived_at=timezone.now())
        return result

    monkeypatch.setattr(importing, "write_batch", archived_after_the_first_batch)

    services.import_run(import_id=queued.pk)

    queued.refresh_from_db()
    assert queued.status == "failed"
    assert queued.error == "This project is archived and read-only."
    # The first batch is in; the second rolled back whole; the resume point says so.
    assert (queued.processed, queued.created) == (2, 2)
    assert list(
        Issue.objects.filter(project=project).order_by("number").values_list("title", flat=True)
    ) == [
        "Issue 1",
        "Issue 2",
    ]
    assert queued.file == ""
    # Unarchived, the same file again: what is in is recognised, the rest comes in.
    Project.objects.filter(pk=project.pk).update(archived_at=None)
    monkeypatch.setattr(importing, "write_batch", write)
    with django_capture_on_commit_callbacks(execute=True):
        answer = client_for(owner).post(
            f"/api/v1/projects/{project.key}/imports",
            {"file": upload(FIVE), "format": "jsonl"},
            format="multipart",
        )
    assert answer.status_code == 202
    assert answer.json()["report"]["skipped_count"] == 2
    again = Import.objects.order_by("id").last()
    assert (again.status, again.created, again.skipped) == ("done", 3, 2)
    assert Issue.objects.filter(project=project).count() == 5
    assert ImportedIssue.objects.filter(project=project).count() == 5


def test_a_job_run_again_resumes_after_the_last_committed_batch(queued, project, monkeypatch):
    write, calls = importing.write_batch, []

    def dies_in_the_second_batch(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the worker was killed")
        return write(**kwargs)

    monkeypatch.setattr(importing, "write_batch", dies_in_the_second_batch)
    with pytest.raises(RuntimeError):
        services.import_run(import_id=queued.pk)
    queued.refresh_from_db()
    assert (queued.status, queued.processed, queued.created) == ("running", 2, 2)

    monkeypatch.setattr(importing, "write_batch", write)
    services.import_run(import_id=queued.pk)  # as Celery does with an unacknowledged task

    queued.refresh_from_db()
    assert (queued.status, queued.processed, queued.created) == ("done", 5, 5)
    assert sorted(Issue.objects.filter(project=project).values_list("title", flat=True)) == [
        f"Issue {n}" for n in range(1, 6)
    ]


def test_a_run_that_finds_another_ahead_of_it_stops(queued, project, monkeypatch):
    batch = services._import_batch

    def overtaken(imp, position, rows, people):
        done = batch(imp, position, rows, people)
        if done:  # meanwhile another run of the same import committed the next batch
            Import.objects.filter(pk=imp.pk).update(processed=position + 2 * len(rows))
        return done

    monkeypatch.setattr(services, "_import_batch", overtaken)

    assert services.import_run(import_id=queued.pk) is False

    queued.refresh_from_db()
    assert (queued.status, queued.created, queued.processed) == ("running", 2, 4)
    assert Issue.objects.filter(project=project).count() == 2


def test_an_importer_demoted_meanwhile_imports_no_more(queued, project, owner):
    project.memberships.filter(user=owner).update(role=30)

    services.import_run(import_id=queued.pk)

    queued.refresh_from_db()
    assert (queued.status, queued.created) == ("failed", 0)
    assert queued.error == "Only maintainers and owners can import issues."
    assert not Issue.objects.filter(project=project).exists()


def test_a_long_import_runs_in_slices_queued_one_after_another(
    queued, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_SLICE_SECONDS = 0  # one batch a slice
    from transfers.tasks import run_import

    run_import.apply(args=[queued.pk])

    queued.refresh_from_db()
    assert (queued.status, queued.created) == ("done", 5)


def test_a_finished_import_is_left_alone(queued):
    services.import_run(import_id=queued.pk)
    before = Import.objects.values().get()
    assert services.import_run(import_id=queued.pk) is False
    assert Import.objects.values().get() == before


def test_the_sweeper_restarts_jobs_whose_worker_died_then_gives_up(
    queued, project, owner, settings, monkeypatch
):
    started = []
    monkeypatch.setattr(services, "enqueue", lambda task, pk: started.append((task, pk)))
    export = services.export_create(project=project, requested_by=owner, format="csv", filters={})
    long_ago = timezone.now() - timedelta(seconds=settings.TRANSFERS_STALL_SECONDS + 1)
    Import.objects.update(status="running", heartbeat_at=long_ago)
    Export.objects.update(created_at=long_ago)

    services.transfers_sweep()
    services.transfers_sweep()  # too soon again: nothing

    assert sorted(started) == [
        ("transfers.tasks.run_export", export.pk),
        ("transfers.tasks.run_import", queued.pk),
    ]
    for _ in range(services.MAX_RESTARTS):
        Import.objects.update(heartbeat_at=long_ago)
        Export.objects.update(heartbeat_at=long_ago)
        services.transfers_sweep()
    queued.refresh_from_db()
    export.refresh_from_db()
    assert queued.status == export.status == "failed"
    assert queued.error == "Its worker stopped 4 times; gave up."


def test_finished_imports_are_forgotten_after_their_time_and_their_issues_stay(
    queued, project, settings
):
    services.import_run(import_id=queued.pk)
    Import.objects.update(
        finished_at=timezone.now() - timedelta(days=settings.IMPORT_RETENTION_DAYS, seconds=1)
    )

    services.transfers_sweep()

    assert not Import.objects.exists()
    assert Issue.objects.filter(project=project).count() == 5
    assert ImportedIssue.objects.filter(import_run=None).count() == 5


def test_an_export_replaced_by_a_later_attempt_records_nothing(
    project, owner, monkeypatch, _transfers_storage
):
    export = services.export_create(project=project, requested_by=owner, format="csv", filters={})
    snapshot = services._export_snapshot

    def overtaken(export_, out):
        Export.objects.filter(pk=export_.pk).update(attempt=export_.attempt + 1)
        return snapshot(export_, out)

    monkeypatch.setattr(services, "_export_snapshot", overtaken)

    services.export_run(export_id=export.pk)

    export.refresh_from_db()
    assert (export.status, export.file) == ("running", "")
    assert not list((_transfers_storage / "exports").iterdir())


def test_an_imported_issue_costs_a_fixed_number_of_statements(
    project, owner, settings, django_assert_max_num_queries
):
    """Per issue with a label and a comment: its number, the issue, its label, the comment
    and its times, its history, its origin, and a savepoint; the batch's events in one
    statement at its end. The budget does not grow with the batch beyond that."""
    settings.IMPORT_BATCH_SIZE = 1000

    def run(issues):
        content = jsonl(
            [
                {
                    "key": f"K{issues}-{n}",
                    "title": "x",
                    "labels": ["a"],
                    "comments": [{"author": None, "body": "c"}],
                }
                for n in range(issues)
            ]
        )
        imp = services.import_create(
            project=project, importer=owner, format="jsonl", upload=upload(content)
        )
        services.import_run(import_id=imp.pk)
        imp.refresh_from_db()
        assert imp.created == issues

    with django_assert_max_num_queries(21 + 9 * 10):
        run(10)
    with django_assert_max_num_queries(21 + 9 * 50):
        run(50)
