"""Exports and imports: asking for them, the Celery jobs that do them, and the sweeper
that deletes old ones and restarts lost ones (README, "Export and import")."""

import logging
import secrets
import tempfile
import time
from contextlib import nullcontext
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from api.errors import Conflict, DomainError, NotAllowed
from config.celery import enqueue
from events.outbox import event_batch, events_deferred
from projects.models import Project
from projects.rights import refusal

from . import exporting, importing, reading
from .models import Export, Import
from .storage import transfers_storage

logger = logging.getLogger(__name__)

EXPORT_TASK = "transfers.tasks.run_export"
IMPORT_TASK = "transfers.tasks.run_import"
# A job the sweeper had to start again this often (its worker kept dying) fails.
MAX_RESTARTS = 3
# What a job stops on, recording why: a refusal, a value the service cannot take.
REFUSALS = (DomainError, ValidationError, DjangoValidationError, importing.RowRefused)


class ExportRunning(Conflict):
    message = "You have an export queued or running already; wait for it to finish."
    code = "export_running"


class ImportRunning(Conflict):
    message = "An import into this project is queued or running already; wait for it to end."
    code = "import_running"


class RowsRefused(DomainError):
    """A real import whose file has refused records imports nothing (400)."""

    code = "rows_refused"


def _message(error: Exception) -> str:
    """A refusal as one line of text, for a job's `error`."""
    if isinstance(error, DomainError):
        return error.message
    if isinstance(error, DjangoValidationError):
        error = ValidationError(getattr(error, "message_dict", None) or error.messages)
    if isinstance(error, ValidationError):
        detail = error.detail if isinstance(error.detail, dict) else {"": error.detail}
        return "; ".join(
            f"{name}: {' '.join(map(str, v if isinstance(v, list) else [v]))}".lstrip(": ")
            for name, v in detail.items()
        )
    return str(error)


def _claim(model, pk: int):
    """Mark a queued (or, run again, a running) job as running: the job to do, or None if
    it is over (done, failed, deleted)."""
    with transaction.atomic():
        job = model.objects.select_for_update().filter(pk=pk).first()
        if job is None or job.status not in model.RUNNING_STATUSES:
            return None
        job.status = model.Status.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        fields = ["status", "started_at", "heartbeat_at"]
        if model is Export:
            job.attempt += 1
            fields.append("attempt")
        job.save(update_fields=fields)
    return job


# -- exports --------------------------------------------------------------------------------


def export_create(
    *,
    project: Project,
    requested_by,
    format: str,
    filters: dict,
    include=(),
    bom: bool = False,
) -> Export:
    """Ask for an export of the issues of `project` that `filters` (the issue list's, as
    query parameters) select; a Celery job writes it (export_run). One at a time per person:
    ExportRunning (409) while another is queued or running."""
    filters = exporting.check_filters(filters)
    # Bad values (an unknown label or user, a choice that is none) are a 400 now.
    exporting.issues_selected(project=project, user=requested_by, filters=filters)
    if format != Export.Format.JSONL and include:
        raise ValidationError(
            {"include": "A CSV holds one row per issue; comments and history come with jsonl."}
        )
    if format != Export.Format.CSV and bom:
        raise ValidationError({"bom": "Only a CSV file starts with a BOM."})
    export = Export(
        project=project,
        requested_by=requested_by,
        format=format,
        filters=filters,
        include=sorted(set(include)),
        bom=bom,
        expires_at=timezone.now() + timedelta(hours=settings.EXPORT_RETENTION_HOURS),
    )
    try:
        with transaction.atomic():
            export.save()
            transaction.on_commit(lambda: enqueue(EXPORT_TASK, export.pk), robust=True)
    except IntegrityError as e:  # export_one_running_per_person
        running = Export.objects.filter(
            requested_by=requested_by, status__in=Export.RUNNING_STATUSES
        ).first()
        raise ExportRunning(running_export=running.pk if running else None) from e
    return export


class _Progress:
    """Writes a running export's progress where clients can read it meanwhile. On
    PostgreSQL the job reads inside one snapshot transaction, whose writes nobody sees
    before it ends: there progress goes over a connection of its own."""

    def __init__(self, export: Export, separate: bool):
        self.export = export
        self.connection = connections.create_connection(DEFAULT_DB_ALIAS) if separate else None

    def __call__(self, **fields) -> None:
        fields["heartbeat_at"] = timezone.now()
        if self.connection is None:
            Export.objects.filter(pk=self.export.pk, attempt=self.export.attempt).update(**fields)
            return
        ops = self.connection.ops
        sets = ", ".join(f"{ops.quote_name(name)} = %s" for name in fields)
        table = ops.quote_name(Export._meta.db_table)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {sets} WHERE id = %s AND attempt = %s",  # noqa: S608
                [*fields.values(), self.export.pk, self.export.attempt],
            )

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def export_run(*, export_id: int) -> None:
    """The export job: write the file from one consistent snapshot, then store it. Safe to
    run twice: a finished export is left alone, and of two runs only the latest attempt
    records its file."""
    export = _claim(Export, export_id)
    if export is None:
        return
    try:
        if export.requested_by is None or export.project is None:
            raise NotAllowed("The person who asked for it, or the project, is gone.")
        # Whoever is no longer allowed to export (removed from the project) gets nothing.
        refused = refusal(export.requested_by, export.project, "export_issues")
        if refused is not None:
            raise NotAllowed(refused.message)
        with tempfile.TemporaryFile() as out:
            counts = _export_snapshot(export, out)
            size = out.tell()
            out.seek(0)
            name = f"exports/{export.pk}-{secrets.token_hex(8)}.{export.format}"
            name = transfers_storage().save(name, File(out, name=name))
    except REFUSALS as e:
        Export.objects.filter(pk=export.pk, attempt=export.attempt).update(
            status=Export.Status.FAILED, error=_message(e), finished_at=timezone.now()
        )
        return
    recorded = Export.objects.filter(pk=export.pk, attempt=export.attempt).update(
        status=Export.Status.DONE,
        file=name,
        size=size,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        **counts,
    )
    if not recorded:  # a later attempt took over: this file is nobody's
        transfers_storage().delete(name)


def _export_snapshot(export: Export, out) -> dict:
    """Write the export into `out` from one snapshot of the database: on PostgreSQL one
    REPEATABLE READ, read-only transaction, so every batch sees the data as it was when the
    first was read. On SQLite a transaction that long would hold every writer off, so the
    batches are read one after another (README, "Export and import")."""
    snapshot = connection.vendor == "postgresql"
    progress = _Progress(export, separate=snapshot)
    outermost = not connection.in_atomic_block
    counts = {"total": None, "written": 0, "comments": 0, "history": 0}
    try:
        with transaction.atomic() if snapshot else nullcontext():
            if snapshot and outermost:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            issues = exporting.issues_selected(
                project=export.project, user=export.requested_by, filters=export.filters
            )
            counts["total"] = issues.count()
            progress(**counts)
            writer = exporting.WRITERS[export.format](out, export.project.key, export.bom)
            for batch in exporting.issue_batches(
                issues, include=set(export.include), size=settings.EXPORT_BATCH_SIZE
            ):
                for record in batch:
                    counts["comments"] += len(record.get("comments", ()))
                    counts["history"] += len(record.get("history", ()))
                    writer.write(record)
                counts["written"] += len(batch)
                progress(**counts)
            writer.close()
    finally:
        progress.close()
    return counts


# -- imports --------------------------------------------------------------------------------


def import_dry_run(*, project: Project, importer, format: str, upload) -> dict:
    """What importing `upload` would do, changing nothing: the report (importing.Report)."""
    report = importing.plan(upload, format, project, importer)
    return {"dry_run": True, "format": format, "report": report.as_dict()}


def import_create(*, project: Project, importer, format: str, upload) -> Import:
    """Check the whole file as a dry run does; if it refuses nothing, keep the file and
    queue the import job (import_run). One import at a time per project (ImportRunning)."""
    if Import.objects.filter(project=project, status__in=Import.RUNNING_STATUSES).exists():
        raise ImportRunning()
    report = importing.plan(upload, format, project, importer)
    if report.refused:
        shown = report.as_dict()["refused"]
        listed = f" (the first {len(shown)} are listed)" if len(shown) < report.refused else ""
        raise RowsRefused(
            f"{report.refused} record(s) would be refused{listed}, so nothing was imported; "
            "fix them, or see the whole report with dry_run=true.",
            errors=[
                {
                    "field": p["field"],
                    "message": f"Line {p['line']}: {p['message']}",
                    "code": p["code"],
                    "line": p["line"],
                }
                for p in shown
            ],
        )
    storage = transfers_storage()
    name = storage.save(f"imports/{secrets.token_hex(12)}.{format}", upload)
    imp = Import(
        project=project,
        requested_by=importer,
        format=format,
        file=name,
        file_name=(upload.name or "")[:255],
        size=upload.size,
        total=report.records,
        report=report.as_dict(),
    )
    try:
        with transaction.atomic():
            imp.save()
            transaction.on_commit(lambda: enqueue(IMPORT_TASK, imp.pk), robust=True)
    except IntegrityError as e:  # import_one_running_per_project
        storage.delete(name)
        raise ImportRunning() from e
    return imp


def import_run(*, import_id: int) -> bool:
    """The import job: create the file's issues in batches of IMPORT_BATCH_SIZE, each in
    its own transaction together with the point to resume from (`processed`), pausing
    IMPORT_BATCH_PAUSE seconds between batches. After IMPORT_SLICE_SECONDS it stops and
    answers True: the task queues the rest, so other tasks run in between. Run again, it
    resumes after the last committed batch; two runs at once never write the same batch."""
    imp = _claim(Import, import_id)
    if imp is None:
        return False
    deadline = time.monotonic() + settings.IMPORT_SLICE_SECONDS
    position, people = imp.processed, importing.People(imp.project)
    try:
        with transfers_storage().open(imp.file, "rb") as upload, event_batch(imp.bulk_id):
            rows = reading.rows(upload, imp.format)
            for _ in range(position):  # the records done already
                next(rows, None)
            for batch in importing.batches(rows, settings.IMPORT_BATCH_SIZE):
                if not _import_batch(imp, position, batch, people):
                    return False  # another run of this import is ahead, and goes on
                position += len(batch)
                if time.monotonic() > deadline:
                    return True
                time.sleep(settings.IMPORT_BATCH_PAUSE)
    except REFUSALS as e:
        _import_finished(imp, Import.Status.FAILED, _message(e))
        return False
    _import_finished(imp, Import.Status.DONE)
    return False


@transaction.atomic
def _import_batch(imp: Import, position: int, batch: list, people) -> bool:
    """One batch, committed with the resume point; False if another run did it."""
    locked = (
        Import.objects.select_related("project", "requested_by")
        .select_for_update(of=("self",))
        .get(pk=imp.pk)
    )
    if locked.status != Import.Status.RUNNING or locked.processed != position:
        return False
    if locked.requested_by is None or locked.project is None:
        raise NotAllowed("The importer, or the project, is gone.")
    # Asked again for each batch, of the project as it is now: an importer demoted, or a
    # project archived, meanwhile imports no more.
    refused = refusal(locked.requested_by, locked.project, "import_issues")
    if refused is not None:
        raise NotAllowed(refused.message)
    # The batch's events are written at its end: the API's other writers wait for the
    # outbox's lock a moment, not for the whole batch (events.outbox.events_deferred).
    with events_deferred():
        result = importing.write_batch(
            imp=locked, rows=batch, people=people, importer=locked.requested_by
        )
    locked.processed = position + len(batch)
    locked.created += result.created
    locked.skipped += result.skipped
    locked.heartbeat_at = timezone.now()
    locked.save(update_fields=["processed", "created", "skipped", "heartbeat_at"])
    return True


def _import_finished(imp: Import, status: str, error: str = "") -> None:
    """Record how the import ended; its file goes (a failed one is resumed by importing the
    file again: what was imported is recognised and skipped)."""
    Import.objects.filter(pk=imp.pk).update(
        status=status, error=error, finished_at=timezone.now(), file=""
    )
    if imp.file:
        transfers_storage().delete(imp.file)


# -- the sweeper ----------------------------------------------------------------------------


def transfers_sweep() -> None:
    """The beat's housekeeping: delete exports past their time (and their files), and those
    of deleted projects; forget finished imports after IMPORT_RETENTION_DAYS; start again
    the jobs whose worker died (no heartbeat for TRANSFERS_STALL_SECONDS), failing those
    restarted MAX_RESTARTS times already."""
    now, storage = timezone.now(), transfers_storage()
    for export in Export.objects.filter(expires_at__lt=now) | Export.objects.filter(
        project__isnull=True
    ):
        if export.file:
            storage.delete(export.file)
        export.delete()
    Import.objects.filter(
        finished_at__lt=now - timedelta(days=settings.IMPORT_RETENTION_DAYS)
    ).delete()
    stalled = now - timedelta(seconds=settings.TRANSFERS_STALL_SECONDS)
    for model, task in ((Export, EXPORT_TASK), (Import, IMPORT_TASK)):
        running = model.objects.filter(status__in=model.RUNNING_STATUSES)
        for job in running.filter(heartbeat_at__lt=stalled) | running.filter(
            heartbeat_at__isnull=True, created_at__lt=stalled
        ):
            _restart(model, job, task)


def _restart(model, job, task: str) -> None:
    if job.restarts >= MAX_RESTARTS:
        model.objects.filter(pk=job.pk).update(
            status=model.Status.FAILED,
            error=f"Its worker stopped {job.restarts + 1} times; gave up.",
            finished_at=timezone.now(),
        )
        if model is Import and job.file:
            transfers_storage().delete(job.file)
        return
    model.objects.filter(pk=job.pk).update(restarts=job.restarts + 1, heartbeat_at=timezone.now())
    logger.warning(
        "Restarting %s %s (no heartbeat since %s)", model.__name__, job.pk, job.heartbeat_at
    )
    enqueue(task, job.pk)
