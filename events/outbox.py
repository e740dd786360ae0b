"""Recording events: the one write of the transactional outbox.

Services call `event_emit` inside their own transaction, so an event is committed exactly
when the change it announces is: nothing for a rolled-back change, nothing committed left
unannounced. This module imports no other app (they all import it).
"""

import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial

from django.db import connection, transaction

from config.celery import app as celery_app
from config.celery import enqueue

from .models import Event

# The webhooks relay (webhooks/tasks.py), by name: this module imports no other app.
RELAY_TASK = "webhooks.tasks.relay_event"
# The notifications consumer (notifications/tasks.py): it reads the outbox from its own
# position on, so this only wakes it; its beat sweep catches up on whatever a broker lost.
NOTIFY_TASK = "notifications.tasks.consume_events"

# Any fixed 64-bit number, the same for every writer: the key of the advisory lock below.
EVENT_ID_LOCK = 0x6576_656E_7473  # "events"


# The batch whose changes are being made (see event_batch); None outside one.
_current_bulk_id: ContextVar[uuid.UUID | None] = ContextVar("bulk_id", default=None)


@contextmanager
def event_batch(bulk_id: uuid.UUID | None = None):
    """Mark every event emitted inside as part of one batch (an import, a bulk edit): each
    carries `bulk_id` (a new one if not given), which the feed, webhooks and notifications
    show, so readers can take a batch's events together. The services that emit need no
    argument of their own: `with event_batch(batch.bulk_id): issue_update(...)`."""
    token = _current_bulk_id.set(bulk_id or uuid.uuid4())
    try:
        yield _current_bulk_id.get()
    finally:
        _current_bulk_id.reset(token)


# Events held back by events_deferred, to be written at its end; None outside one.
_deferred: ContextVar[list | None] = ContextVar("deferred_events", default=None)


@contextmanager
def events_deferred():
    """Hold back the events emitted in the block and write them all at its end, in one
    statement, inside the caller's transaction. Writing an event takes the lock that makes
    ids follow commit order (_serialize_event_ids) until the transaction commits: a batch
    of many changes (an import's) that wrote its events as it went would hold every other
    writer of the API off for the whole batch; this way, for its last moment only. If the
    block raises, nothing is written (its transaction is rolled back anyway)."""
    if not connection.in_atomic_block:
        raise RuntimeError("events_deferred must run inside the transaction of the changes.")
    pending: list[Event] = []
    token = _deferred.set(pending)
    try:
        yield pending
    finally:
        _deferred.reset(token)
    if pending:
        _serialize_event_ids()
        Event.objects.bulk_create(pending)
        for event in pending:
            transaction.on_commit(partial(enqueue, RELAY_TASK, event.pk), robust=True)
        # One wake-up of the notifications consumer: it reads the whole batch from its
        # position on.
        transaction.on_commit(partial(enqueue, NOTIFY_TASK, pending[-1].pk), robust=True)


def event_emit(
    *,
    type: str,
    project,
    actor,
    data: dict,
    changes: dict | None = None,
    bulk_id: uuid.UUID | None = None,
) -> Event:
    """Record that `actor` changed something in `project` (None for none); in the caller's
    transaction. `bulk_id` names the batch the change is part of (default: the current
    event_batch's, if any). Inside events_deferred, the event is written at its end (and
    has no id until then)."""
    if not connection.in_atomic_block:
        raise RuntimeError("event_emit must run inside the transaction of the change.")
    event = Event(
        type=type,
        project=project,
        project_key=project.key if project is not None else "",
        actor=actor if actor is not None and actor.is_authenticated else None,
        data=data,
        changes=changes,
        bulk_id=bulk_id or _current_bulk_id.get(),
    )
    pending = _deferred.get()
    if pending is not None and event.type != Event.Type.PROJECT_DELETED:
        pending.append(event)
        return event
    _serialize_event_ids()
    event.save(force_insert=True)
    if event.type == Event.Type.PROJECT_DELETED:
        # Relayed in this transaction, while the project's webhooks are still found by it
        # (they outlive it until their deliveries are done); sent once it commits.
        celery_app.tasks[RELAY_TASK](event.pk)
    else:
        # Handed to the relay once the change has committed; a broker that is down only
        # delays it (webhooks' sweeper relays what was never handed over).
        transaction.on_commit(partial(enqueue, RELAY_TASK, event.pk), robust=True)
    transaction.on_commit(partial(enqueue, NOTIFY_TASK, event.pk), robust=True)
    return event


def _serialize_event_ids() -> None:
    """Make ids follow commit order.

    A sequence hands out ids when rows are inserted, not when they commit: transaction A
    may take id 7, transaction B id 8 and commit first, and a reader that saw 8 and
    resumes with `after=8` would never see 7. Holding one lock from just before the insert
    until commit makes writers of events take ids and commit one at a time, so a
    committed id is never below another transaction's uncommitted one. The lock is held
    only for the rest of the writer's transaction (the insert is the services' last
    step). SQLite runs one writer at a time anyway.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVENT_ID_LOCK])
