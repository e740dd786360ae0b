"""The outbox, read in order and turned into notifications: threads in people's inboxes
and the mail items their settings ask for.

The consumer keeps its place in the outbox (EventCursor) and reads on from it in id
order, which is commit order (events.outbox), so no event is skipped and none is read
twice: the events of a batch and the cursor's new place commit together. Every event
committed queues `consume_events` (a wake-up call); the beat's sweep calls it too, so an
event whose task a broker lost is read on the next sweep. A worker that dies mid-batch
commits nothing, and the next run reads the same events again.
"""

import logging
import uuid

from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from events.models import Event
from issues.models import Issue
from projects.models import Membership, Role
from projects.rights import can

from .bulk import insert_rows
from .models import (
    Delivery,
    EventCursor,
    Inbox,
    IssueSubscription,
    MailItem,
    NotificationSettings,
    Thread,
    delivery_for,
)
from .rules import RULES, Change

logger = logging.getLogger(__name__)
User = get_user_model()

CURSOR = "notifications"
BATCH = 100
# Runs that may fail on one event before it is skipped (and logged as an error).
MAX_FAILURES = 3


def events_consume(*, up_to: int | None = None, max_batches: int = 20) -> int:
    """Turn the committed events after the cursor into notifications, BATCH at a time;
    with `up_to`, only if that event is not read yet. How many events were read."""
    if (
        up_to is not None
        and EventCursor.objects.filter(pk=CURSOR, last_event_id__gte=up_to).exists()
    ):
        return 0  # read already: no lock taken
    read = 0
    for _ in range(max_batches):
        count, more = _consume_batch(up_to)
        read += count
        if not more:
            break
    return read


def _lock_cursor() -> EventCursor:
    """The cursor, its row locked until the transaction ends (an UPDATE locks on SQLite
    as well as on PostgreSQL): consumers take turns."""
    now = timezone.now()
    if not EventCursor.objects.filter(pk=CURSOR).update(updated_at=now):
        # Made by the migration at the outbox's end; a database emptied since starts at 0.
        EventCursor.objects.bulk_create([EventCursor(name=CURSOR)], ignore_conflicts=True)
        EventCursor.objects.filter(pk=CURSOR).update(updated_at=now)
    return EventCursor.objects.get(pk=CURSOR)


def _consume_batch(up_to: int | None) -> tuple[int, bool]:
    with transaction.atomic():
        cursor = _lock_cursor()
        if up_to is not None and cursor.last_event_id >= up_to:
            return 0, False
        events = list(
            Event.objects.filter(pk__gt=cursor.last_event_id)
            .select_related("actor")
            .order_by("pk")[:BATCH]
        )
        for event in events:
            try:
                with transaction.atomic():
                    event_notify(event)
            except Exception:
                again = cursor.stuck_event_id == event.pk
                cursor.failures = cursor.failures + 1 if again else 1
                cursor.stuck_event_id = event.pk
                if cursor.failures < MAX_FAILURES:
                    logger.exception(
                        "Notifications for event %s failed (%s); retried on the next run.",
                        event.pk,
                        cursor.failures,
                    )
                    cursor.save()
                    return events.index(event), False
                logger.exception(
                    "Notifications for event %s failed %s times; skipped.", event.pk, MAX_FAILURES
                )
            cursor.last_event_id = event.pk
            cursor.stuck_event_id, cursor.failures = None, 0
        cursor.save()
        return len(events), len(events) == BATCH


# -- one event -------------------------------------------------------------------------------


def event_notify(event: Event) -> dict[int, str]:
    """Notify whoever the rules name for `event`: a thread for each (made or brought back),
    a mail item for each whose settings want mail. In a constant number of statements,
    whatever the number of people. Returns {user id: reason}."""
    _keep_inboxes_current(event)
    rule = RULES.get(event.type)
    if rule is None or event.project_id is None:
        return {}
    issue = Issue.objects.select_related("project").filter(rule.issue(event)).first()
    if issue is None:  # deleted since
        return {}
    change = Change(event=event, issue=issue)
    heard = [(hear, hear.who(change)) for hear in rule.hear]
    candidates = set().union(*(who for _, who in heard)) - {event.actor_id, None}
    users = _users_who_see(candidates, issue)
    recipients: dict[int, str] = {}
    mentioned: set[int] = set()
    for hear, who in heard:
        for user_id in sorted(who):
            user = users.get(user_id)
            if user is None or user_id in recipients:
                continue
            if hear.only is not None and not hear.only(change, user):
                continue
            recipients[user_id] = hear.reason
        if getattr(hear.who, "mentions", False):
            mentioned |= {user_id for user_id in who if user_id in users}
    _record(change, recipients, users, mentioned)
    return recipients


def _users_who_see(ids: set[int], issue: Issue) -> dict[int, User]:
    """The active users among `ids` who can see the issue now (the rights table's
    view_project), each with their mail settings; one query."""
    if not ids:
        return {}
    project = issue.project
    role = Membership.objects.filter(project=project, user=OuterRef("pk")).values("role")[:1]
    choices = NotificationSettings.objects.filter(user=OuterRef("pk")).values("email")[:1]
    users = (
        User.objects.filter(pk__in=ids, is_active=True)
        .annotate(
            project_role=Subquery(role),
            email_choices=Subquery(choices, output_field=models.JSONField()),
        )
        .only("id", "username", "role", "is_superuser", "is_active", "type")
    )
    # The roles the rights table asks for, known already (projects.rights.member_role).
    known = project.__dict__.setdefault("_member_roles", {})
    found = {}
    for user in users:
        known[user.pk] = Role(user.project_role) if user.project_role is not None else None
        if can(user, project, "view_project"):
            found[user.pk] = user
    return found


def _bulk_id(event: Event):
    """The id several events of one bulk change share, if any: their mail goes together."""
    return getattr(event, "bulk_id", None) or (event.data or {}).get("bulk_id")


def _record(change: Change, recipients: dict[int, str], users: dict, mentioned: set[int]) -> None:
    event, issue = change.event, change.issue
    now = timezone.now()
    if mentioned - change.unwatched:
        # Mentioned people take part from now on (unless they unwatched the issue).
        insert_rows(
            IssueSubscription,
            rows=[(user_id,) for user_id in sorted(mentioned - change.unwatched)],
            varying=("user",),
            same={
                "issue": issue.pk,
                "state": IssueSubscription.State.MENTIONED,
                "created_at": now,
                "updated_at": now,
            },
            conflict=("user", "issue"),
        )
    if not recipients:
        return
    insert_rows(
        Thread,
        rows=sorted(recipients.items()),
        varying=("user", "reason"),
        same={
            "issue": issue.pk,
            "project": issue.project_id,
            "actor": event.actor_id,
            "event": event.pk,
            "updated_at": event.created_at,
            "read_at": None,
            "done_at": None,
            "created_at": now,
        },
        conflict=("user", "issue"),
        update=("reason", "actor", "event", "updated_at", "read_at", "done_at"),
    )
    inboxes_touch(user_ids=sorted(recipients))
    bulk_id = _bulk_id(event)
    items = []
    for user_id, reason in sorted(recipients.items()):
        user = users[user_id]
        delivery = delivery_for(user.email_choices, reason)
        if delivery == Delivery.NEVER or user.is_bot:  # bots read their inbox, not mail
            continue
        if delivery == Delivery.DAILY:
            key = "digest"
        else:
            key = f"bulk:{bulk_id}" if bulk_id else f"issue:{issue.pk}"
        items.append((user_id, key[:80], delivery, reason))
    insert_rows(
        MailItem,
        rows=items,
        varying=("user", "key", "delivery", "reason"),
        same={"issue": issue.pk, "event": event.pk, "email": None, "created_at": event.created_at},
    )


# -- inbox versions ----------------------------------------------------------------------------


def inboxes_touch(*, user_ids) -> None:
    """A new version for these people's inboxes (their ETags change); one statement."""
    insert_rows(
        Inbox,
        rows=[(user_id,) for user_id in user_ids],
        varying=("user",),
        same={"version": uuid.uuid4().hex},
        conflict=("user",),
        update=("version",),
    )


def _touch_holders(threads) -> None:
    holders = threads.values("user_id")
    Inbox.objects.filter(user_id__in=holders).update(version=uuid.uuid4().hex)


def _keep_inboxes_current(event: Event) -> None:
    """What an inbox shows can change without a notification: an issue's title or status,
    whether the person may still see a project. Those inboxes get a new version; threads
    of deleted issues and projects go."""
    data = event.data or {}
    kind = event.type
    if kind in (Event.Type.ISSUE_UPDATED, Event.Type.ISSUE_TRANSITIONED):
        _touch_holders(Thread.objects.filter(issue_id=data.get("id")))
    elif kind == Event.Type.ISSUE_DELETED:
        threads = Thread.objects.filter(issue_id=data.get("id"))
        _touch_holders(threads)
        threads.delete()
    elif kind == Event.Type.PROJECT_UPDATED:
        _touch_holders(Thread.objects.filter(project_id=data.get("id")))
    elif kind == Event.Type.PROJECT_DELETED:
        threads = Thread.objects.filter(project_id=data.get("id"))
        _touch_holders(threads)
        threads.delete()
    elif kind in (
        Event.Type.MEMBER_ADDED,
        Event.Type.MEMBER_UPDATED,
        Event.Type.MEMBER_REMOVED,
    ):
        user_id = (data.get("user") or {}).get("id")
        if user_id is not None:
            Inbox.objects.filter(user_id=user_id).update(version=uuid.uuid4().hex)
