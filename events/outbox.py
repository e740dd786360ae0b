"""Recording events: the one write of the transactional outbox.

Services call `event_emit` inside their own transaction, so an event is committed exactly
when the change it announces is: nothing for a rolled-back change, nothing committed left
unannounced. This module imports no other app (they all import it).
"""

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


def event_emit(*, type: str, project, actor, data: dict, changes: dict | None = None) -> Event:
    """Record that `actor` changed something in `project` (None for none); in the caller's
    transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("event_emit must run inside the transaction of the change.")
    _serialize_event_ids()
    event = Event.objects.create(
        type=type,
        project=project,
        project_key=project.key if project is not None else "",
        actor=actor if actor is not None and actor.is_authenticated else None,
        data=data,
        changes=changes,
    )
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
