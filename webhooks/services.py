"""Webhook writes, the relay of events to webhooks, and each delivery attempt.

Events are relayed once committed (events.outbox queues `relay_event`). A failed attempt
queues its retry for the moment it is due (a task with an ETA), unless that is more than
RETRY_ETA_MAX away; the beat's `sweep` queues those later retries once due, and is the
safety net for everything else: it relays events and re-queues deliveries the broker lost.
A delivery claims its attempt with one conditional UPDATE, so a task that runs twice (or a
retry queued by both) sends once.
"""

import base64
import hashlib
import hmac
import json
import random
import secrets
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from api.errors import Conflict
from api.versions import Expected, lock_for_write
from config.celery import enqueue
from events.models import Event
from projects.services import project_ensure_active

from . import network
from .models import Delivery, Webhook

DELIVER_TASK = "webhooks.tasks.deliver"
# Events, and deliveries whose task is queued, are left to that task for this long after
# they are due before the sweeper queues them again.
SWEEP_GRACE = timedelta(seconds=5)
SWEEP_BATCH = 500
RETRY_AFTER_MAX = 24 * 3600
# A retry due within this long is queued with its ETA when its attempt fails. A broker holds
# such a task unacknowledged until then, and Redis hands it to another worker after its
# visibility timeout (an hour by default), so later retries wait in the database for the
# sweeper instead.
RETRY_ETA_MAX = timedelta(minutes=10)
UNFINISHED = (Delivery.Status.PENDING, Delivery.Status.RETRYING)


class WebhookDisabled(Conflict):
    message = "This webhook is disabled; enable it (PATCH active=true) first."
    code = "webhook_disabled"


# --- Signing (Standard Webhooks) -------------------------------------------------------


def generate_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `webhook-signature` entry: v1, HMAC-SHA256 of "id.timestamp.body"."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(*, webhook: Webhook, msg_id: str, now: datetime, body: bytes) -> dict:
    """The request's headers, signed with the secret (and during a rotation the old one)."""
    timestamp = int(now.timestamp())
    keys = [webhook.secret]
    expires = webhook.previous_secret_expires_at
    if webhook.previous_secret and expires and expires > now:
        keys.append(webhook.previous_secret)
    return {
        "Content-Type": "application/json",
        "User-Agent": "issue-tracker-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            sign(secret=key, msg_id=msg_id, timestamp=timestamp, body=body) for key in keys
        ),
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def event_payload(event: Event) -> dict:
    return {
        "id": event.pk,
        "type": event.type,
        "timestamp": _iso(event.created_at),
        "data": {
            "object": event.data,
            "changes": event.changes,
            "project": event.project_key or None,
            "actor": event.actor.username if event.actor else None,
            "bulk_id": str(event.bulk_id) if event.bulk_id else None,
        },
    }


def _encode(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


# --- Webhooks ----------------------------------------------------------------------------


def _ensure_active(project) -> None:
    # A deleted project's webhook (project None) lives on only to send `project.deleted`.
    if project is not None:
        project_ensure_active(project=project)


def _check_url(url: str) -> None:
    try:
        network.check_url(url)
    except network.UnsafeURL as error:
        raise ValidationError({"url": str(error)}, code="unsafe_url") from error


@transaction.atomic
def webhook_create(
    *, project, creator, url: str, event_types=(), description: str = "", active: bool = True
) -> Webhook:
    """Make a webhook with a new secret (which only this answer shows)."""
    project_ensure_active(project=project)
    _check_url(url)
    webhook = Webhook(
        project=project,
        created_by=creator,
        url=url,
        event_types=list(event_types),
        description=description,
        active=active,
        secret=generate_secret(),
    )
    webhook.full_clean()
    webhook.save()
    return webhook


def _lock(webhook: Webhook, expected: Expected | None) -> Webhook:
    """The webhook read again with its row locked, if still the version expected."""
    webhooks = Webhook.objects.select_related("created_by", "project")
    return lock_for_write(webhooks, webhook.pk, expected)


@transaction.atomic
def webhook_update(*, webhook: Webhook, expected: Expected | None = None, **fields) -> Webhook:
    """Change a webhook; turning it back on forgets its failures."""
    webhook = _lock(webhook, expected)
    _ensure_active(webhook.project)
    if "url" in fields:
        _check_url(fields["url"])
    if fields.get("active") and not webhook.active:
        webhook.consecutive_failures = 0
        webhook.disabled_reason = ""
    for name in ("url", "event_types", "description", "active"):
        if name in fields:
            setattr(webhook, name, fields[name])
    webhook.full_clean()
    webhook.save()
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook, expected: Expected | None = None) -> None:
    webhook = _lock(webhook, expected)
    _ensure_active(webhook.project)
    webhook.delete()


@transaction.atomic
def webhook_rotate_secret(*, webhook: Webhook, expected: Expected | None = None) -> Webhook:
    """A new secret; the old one still signs too for WEBHOOK_SECRET_ROTATION_GRACE."""
    webhook = _lock(webhook, expected)
    _ensure_active(webhook.project)
    webhook.previous_secret = webhook.secret
    webhook.previous_secret_expires_at = timezone.now() + timedelta(
        seconds=settings.WEBHOOK_SECRET_ROTATION_GRACE
    )
    webhook.secret = generate_secret()
    webhook.save()
    return webhook


def webhook_ping(*, webhook: Webhook) -> network.Answer:
    """Send a `webhook.ping` now and return the answer; a 2xx forgets past failures."""
    _ensure_active(webhook.project)
    now = timezone.now()
    msg_id = f"msg_ping_{secrets.token_hex(12)}"
    body = _encode(
        {
            "id": None,
            "type": "webhook.ping",
            "timestamp": _iso(now),
            "data": {"webhook": webhook.pk, "project": webhook.project.key},
        }
    )
    headers = signed_headers(webhook=webhook, msg_id=msg_id, now=now, body=body)
    answer = network.post(webhook.url, body=body, headers=headers)
    if answer.status is not None and 200 <= answer.status < 300:
        Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=0)
        webhook.consecutive_failures = 0
    return answer


# --- Relay ---------------------------------------------------------------------------------


def event_relay(*, event_id: int) -> list[int]:
    """Make the event's deliveries (once, however often called), mark it dispatched, and
    queue them after commit; the deliveries' ids."""
    with transaction.atomic():
        event = Event.objects.select_for_update().filter(pk=event_id).first()
        if event is None or event.dispatched_at is not None:
            return []
        now = timezone.now()
        webhooks = []
        if event.project_id is not None:
            webhooks = [
                webhook
                for webhook in Webhook.objects.filter(project_id=event.project_id, active=True)
                if webhook.subscribes_to(event.type)
            ]
        Delivery.objects.bulk_create(
            [Delivery(webhook=w, event=event, next_attempt_at=now) for w in webhooks],
            ignore_conflicts=True,
        )
        event.dispatched_at = now
        event.save(update_fields=["dispatched_at"])
        ids = list(
            Delivery.objects.filter(event=event, status=Delivery.Status.PENDING).values_list(
                "id", flat=True
            )
        )
        transaction.on_commit(lambda: _queue_deliveries(ids), robust=True)
    return ids


def _queue_deliveries(ids) -> None:
    for delivery_id in ids:
        enqueue(DELIVER_TASK, delivery_id)


def sweep(*, now: datetime | None = None) -> tuple[list[int], list[int]]:
    """Relay events the broker lost, and queue deliveries that are due; what it did."""
    now = now or timezone.now()
    cutoff = now - SWEEP_GRACE
    with transaction.atomic():
        events = Event.objects.filter(dispatched_at__isnull=True, created_at__lte=cutoff)
        if connection.vendor == "postgresql":
            # Beats on several machines (or a slow previous sweep) take different events.
            events = events.select_for_update(skip_locked=True)
        event_ids = list(events.order_by("id").values_list("id", flat=True)[:SWEEP_BATCH])
        for event_id in event_ids:
            event_relay(event_id=event_id)
    # Retries further off than RETRY_ETA_MAX have no task: queued as soon as they are due.
    # Every other delivery has one (from the relay, a redelivery or its failed attempt), so
    # it is queued again only if it is still there SWEEP_GRACE after it was due.
    waits_for_sweeper = Q(
        status=Delivery.Status.RETRYING,
        next_attempt_at__lte=now,
        next_attempt_at__gt=F("last_attempt_at") + RETRY_ETA_MAX,
    )
    due = list(
        Delivery.objects.filter(status__in=UNFINISHED)
        .filter(Q(next_attempt_at__lte=cutoff) | waits_for_sweeper)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:SWEEP_BATCH]
    )
    _queue_deliveries(due)
    return event_ids, due


# --- Delivery ------------------------------------------------------------------------------


def retry_after(headers: dict | None, answered: datetime) -> datetime | None:
    """When the receiver's `Retry-After` asks to be called again, in either form RFC 9110
    allows: delay-seconds (after the answer came, at `answered`) or an HTTP-date; None if
    the answer has none, or none that can be read."""
    value = next((v for k, v in (headers or {}).items() if k.lower() == "retry-after"), "").strip()
    if value.isascii() and value.isdigit():
        seconds = int(value) if len(value) < 10 else RETRY_AFTER_MAX  # int() of any length
        return answered + timedelta(seconds=min(seconds, RETRY_AFTER_MAX))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000": a time in UTC (RFC 5322); HTTP-dates are GMT
        moment = moment.replace(tzinfo=UTC)
    return moment


def _retry_delay(attempts: int, answer: network.Answer, now: datetime) -> timedelta | None:
    """How long after `now` (when the attempt began) the next one is due, or None when this
    failure is final."""
    retryable = (answer.status is None and not answer.refused) or (
        answer.status is not None and (answer.status >= 500 or answer.status == 429)
    )
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if not retryable or attempts > len(schedule):
        return None
    delay = timedelta(seconds=schedule[attempts - 1] * random.uniform(0.9, 1.1))  # noqa: S311
    answered = now + timedelta(milliseconds=answer.duration_ms)
    wished = retry_after(answer.headers, answered)
    if wished is not None:
        # The receiver's wish, when later than the schedule, within a day.
        delay = max(delay, min(wished - now, timedelta(seconds=RETRY_AFTER_MAX)))
    return delay


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> Delivery | None:
    """Send the delivery if it is due and not being sent; record the outcome."""
    now = now or timezone.now()
    # Claimed for as long as an attempt can take; if the worker dies, the sweeper retries.
    lease = timedelta(
        seconds=settings.WEBHOOK_CONNECT_TIMEOUT + settings.WEBHOOK_READ_TIMEOUT + 60
    )
    claimed = Delivery.objects.filter(
        pk=delivery_id, status__in=UNFINISHED, next_attempt_at__lte=now
    ).update(next_attempt_at=now + lease, attempts=F("attempts") + 1, last_attempt_at=now)
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("webhook", "event__actor").get(pk=delivery_id)
    webhook = delivery.webhook
    if not webhook.active:
        delivery.status = Delivery.Status.FAILED
        delivery.next_attempt_at = None
        delivery.error = "The webhook is disabled."
        delivery.save()
        return delivery
    body = _encode(event_payload(delivery.event))
    headers = signed_headers(webhook=webhook, msg_id=delivery.message_id, now=now, body=body)
    answer = network.post(webhook.url, body=body, headers=headers)
    delivery.request_headers = headers
    delivery.request_body = body.decode()
    delivery.response_status = answer.status
    delivery.response_body = answer.body
    delivery.duration_ms = answer.duration_ms
    delivery.error = answer.error
    delay = None
    if answer.status is not None and 200 <= answer.status < 300:
        delivery.status = Delivery.Status.SUCCEEDED
        delivery.next_attempt_at = None
        Webhook.objects.filter(pk=webhook.pk, consecutive_failures__gt=0).update(
            consecutive_failures=0
        )
    elif (delay := _retry_delay(delivery.attempts, answer, now)) is not None:
        delivery.status = Delivery.Status.RETRYING
        delivery.next_attempt_at = now + delay
    else:
        delivery.status = Delivery.Status.FAILED
        delivery.next_attempt_at = None
        _count_failure(webhook)
    delivery.save()
    if delay is not None and delay <= RETRY_ETA_MAX:
        # Queued for the moment it is due, rather than left to the sweeper's next round.
        due = delivery.next_attempt_at
        transaction.on_commit(lambda: enqueue(DELIVER_TASK, delivery_id, eta=due), robust=True)
    return delivery


def _count_failure(webhook: Webhook) -> None:
    """One more event failed for good; past WEBHOOK_DISABLE_AFTER in a row, turn it off."""
    Webhook.objects.filter(pk=webhook.pk).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    limit = settings.WEBHOOK_DISABLE_AFTER
    Webhook.objects.filter(pk=webhook.pk, active=True, consecutive_failures__gte=limit).update(
        active=False,
        disabled_reason=f"Disabled after {limit} events in a row could not be delivered.",
    )


@transaction.atomic
def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Send the delivery again from the start (same webhook-id), whatever its outcome."""
    _ensure_active(delivery.webhook.project)
    if not delivery.webhook.active:
        raise WebhookDisabled()
    delivery.status = Delivery.Status.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.save()
    transaction.on_commit(lambda: enqueue(DELIVER_TASK, delivery.pk), robust=True)
    return delivery


def deliveries_prune(*, now: datetime | None = None) -> int:
    """Forget finished deliveries past WEBHOOK_DELIVERY_RETENTION_DAYS, and the webhooks of
    deleted projects once nothing is left to send them; how many deliveries went."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS)
    deleted, _ = (
        Delivery.objects.exclude(status__in=UNFINISHED).filter(created_at__lt=cutoff).delete()
    )
    unfinished = Delivery.objects.filter(webhook=OuterRef("pk"), status__in=UNFINISHED)
    Webhook.objects.filter(project__isnull=True).exclude(Exists(unfinished)).delete()
    return deleted
