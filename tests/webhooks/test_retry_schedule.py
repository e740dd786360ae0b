"""Retries come when the README says (issue #22), with time under the test's control.

A small world stands in for the clock, the broker and the receiver: tasks queued with an
ETA run at that moment, the beat's sweep runs every WEBHOOK_SWEEP_INTERVAL, the receiver
takes a second to answer. Each gap between two attempts must be the schedule's (±10%), or the
receiver's Retry-After when later: on time for retries due within RETRY_ETA_MAX, and at most
one sweep interval late for longer ones, or for any retry the broker lost.
"""

import heapq
import itertools
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from django.db import transaction
from django.utils import timezone

from events.outbox import event_emit
from webhooks import network, services
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
ANSWER_TAKES = timedelta(seconds=1)
INTERVAL = 2  # seconds between sweeps, as in the run


class World:
    """The clock, the broker (a heap of tasks by ETA) and the receiver of one webhook."""

    def __init__(self, monkeypatch, capture, answers, broker_loses_retries=False):
        self.now = START
        self.capture = capture
        self.answers = list(answers)  # (status, headers) per attempt, or a callable of now
        self.broker_loses_retries = broker_loses_retries
        self.queue, self.order = [], itertools.count()
        self.attempts: list[datetime] = []
        self.tasks_run = 0
        monkeypatch.setattr(timezone, "now", lambda: self.now)
        monkeypatch.setattr(services, "enqueue", self.enqueue)
        monkeypatch.setattr(network, "post", self.post)

    def enqueue(self, name, *args, eta=None):
        if eta is not None and self.broker_loses_retries:
            return True  # taken, then lost with the broker
        heapq.heappush(self.queue, (eta or self.now, next(self.order), name, args))
        return True

    def post(self, url, *, body, headers):
        self.attempts.append(self.now)
        self.now += ANSWER_TAKES
        answer = self.answers.pop(0) if self.answers else (503, {})
        status, answer_headers = answer(self.now) if callable(answer) else answer
        return network.Answer(
            status=status,
            headers=answer_headers,
            duration_ms=int(ANSWER_TAKES.total_seconds() * 1000),
        )

    def run(self, *, until: timedelta):
        """Relay one event, then run tasks and sweeps in time order until `until` from now."""
        with transaction.atomic():  # its relay task is never queued: the test relays it
            event = event_emit(type="project.updated", project=self.project, actor=None, data={})
        end, next_sweep = self.now + until, self.now + timedelta(seconds=INTERVAL)
        with self.capture(execute=True):
            services.event_relay(event_id=event.pk)
        while self.now < end:
            if self.queue and self.queue[0][0] <= next_sweep:
                eta, _, name, args = heapq.heappop(self.queue)
                self.now = max(self.now, eta)
                if name == services.DELIVER_TASK:
                    self.tasks_run += 1
                    with self.capture(execute=True):
                        services.delivery_attempt(delivery_id=args[0])
            else:
                self.now = max(self.now, next_sweep)
                next_sweep += timedelta(seconds=INTERVAL)
                with self.capture(execute=True):
                    services.sweep()

    def gaps(self) -> list[float]:
        return [(b - a).total_seconds() for a, b in itertools.pairwise(self.attempts)]


@pytest.fixture
def world(monkeypatch, settings, django_capture_on_commit_callbacks, webhook, project):
    settings.WEBHOOK_SWEEP_INTERVAL = INTERVAL

    def make(answers=(), **kwargs):
        made = World(monkeypatch, django_capture_on_commit_callbacks, answers, **kwargs)
        made.project = project
        return made

    return make


SCHEDULE = [2, 3, 10, 700]  # the last one further off than RETRY_ETA_MAX (10 minutes)


def test_retries_come_on_schedule(settings, world):
    settings.WEBHOOK_RETRY_SCHEDULE = SCHEDULE
    w = world()

    w.run(until=timedelta(seconds=900))

    assert len(w.attempts) == len(SCHEDULE) + 1
    assert Delivery.objects.get().status == "failed"
    for gap, seconds in zip(w.gaps(), SCHEDULE, strict=True):
        late = 0 if seconds <= services.RETRY_ETA_MAX.total_seconds() else INTERVAL
        assert 0.9 * seconds <= gap <= 1.1 * seconds + late, (seconds, gap)
    # Each attempt had one task: the sweeper queued none of those already queued.
    assert w.tasks_run == len(w.attempts)


def test_a_retry_the_broker_lost_is_at_most_one_sweep_and_the_grace_late(settings, world):
    settings.WEBHOOK_RETRY_SCHEDULE = SCHEDULE
    w = world(broker_loses_retries=True)

    w.run(until=timedelta(seconds=900))

    assert len(w.attempts) == len(SCHEDULE) + 1
    grace = services.SWEEP_GRACE.total_seconds()
    for gap, seconds in zip(w.gaps(), SCHEDULE, strict=True):
        assert 0.9 * seconds <= gap <= 1.1 * seconds + grace + INTERVAL, (seconds, gap)


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_retry_after_is_honoured_in_both_forms(settings, world, form):
    settings.WEBHOOK_RETRY_SCHEDULE = [2, 2]

    def too_many(now):
        wished = now + timedelta(seconds=6)  # `now`: when the answer came
        value = "6" if form == "seconds" else format_datetime(wished, usegmt=True)
        return 429, {"Retry-After": value}

    w = world([too_many, (200, {})])

    w.run(until=timedelta(seconds=30))

    # 6 s after the answer came (which took 1 s), not the schedule's 2 s, nor 12 s.
    assert w.gaps() == [7.0]
    assert Delivery.objects.get().status == "succeeded"


NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"Retry-After": "120"}, NOW + timedelta(seconds=120)),
        ({"retry-after": " 120 "}, NOW + timedelta(seconds=120)),
        ({"Retry-After": "Sun, 01 Mar 2026 12:05:00 GMT"}, NOW + timedelta(minutes=5)),
        ({"Retry-After": "Sunday, 01-Mar-26 12:05:00 GMT"}, NOW + timedelta(minutes=5)),
        ({"Retry-After": "Sun Mar  1 12:05:00 2026"}, NOW + timedelta(minutes=5)),
        ({"Retry-After": "9" * 5000}, NOW + timedelta(seconds=services.RETRY_AFTER_MAX)),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-5"}, None),
        ({"Retry-After": ""}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_reads_delay_seconds_and_http_dates(headers, expected):
    assert services.retry_after(headers, NOW) == expected


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("Sun, 01 Mar 2026 11:00:00 GMT", None),  # past: the schedule's own delay
        ("Mon, 01 Mar 2027 12:00:00 GMT", services.RETRY_AFTER_MAX),  # capped at a day
        ("30", 30),
    ],
)
def test_retry_after_only_ever_delays_and_within_a_day(settings, value, seconds):
    settings.WEBHOOK_RETRY_SCHEDULE = [10]
    answer = network.Answer(status=503, headers={"Retry-After": value})
    delay = services._retry_delay(1, answer, NOW).total_seconds()
    if seconds is None:
        assert 9 <= delay <= 11
    else:
        assert delay == seconds
