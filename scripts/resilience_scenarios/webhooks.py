"""webhooks: a Celery worker (prefork) and beat deliver the project's events to a receiver
on loopback while the worker gets SIGKILL (a new one starts), the broker (Redis) stops for
--outage seconds and PostgreSQL restarts. Within WEBHOOK_WAIT seconds of the load's end
every committed event of the project has reached the receiver (webhook-id msg_<event id>,
valid signature) and has a succeeded delivery, and the receiver saw no event that is not
in the database."""

import json
import time

import psycopg

from harness.receiver import Receiver
from harness.report import check, note
from harness.workers import CeleryProcess, Supervisor

from .service import Service
from .workload import Run

# A claimed delivery whose worker died is retried when its lease ends (webhooks.services:
# connect + read timeout + 60 s), so the scenario waits up to this long.
WEBHOOK_WAIT = 120.0
SETTINGS = {
    "WEBHOOK_SWEEP_INTERVAL": "2",
    "WEBHOOK_CONNECT_TIMEOUT": "2",
    "WEBHOOK_READ_TIMEOUT": "3",
    "LOG_LEVEL": "INFO",
}
WORKER = ("worker", "--pool=prefork", "--concurrency=2", "--loglevel=INFO")


class WebhookRig:
    """A receiver, a webhook of the scenario's project pointing at it, a supervised Celery
    worker (prefork) and beat, and the wait for every event to be delivered."""

    def __init__(self, stack: Service, fail_every: int = 0):
        self.stack = stack
        self.receiver = Receiver(fail_every=fail_every)
        env = {**stack.env, **SETTINGS}
        # Kubernetes restarts a worker container that exits (restartPolicy Always), Compose
        # one with `restart: unless-stopped`; so does the rig (broker-restarts checks that
        # none had to be).
        self.workers = Supervisor(
            lambda name: CeleryProcess(env, stack.folder, name, *WORKER, "-n", f"{name}@%h"),
            lambda exited, name: note(
                f"the Celery worker exited ({exited}); restarting it as {name}"
            ),
        )
        schedule = str(stack.folder / "celerybeat-schedule")
        self.beat = CeleryProcess(
            env, stack.folder, "beat", "beat", "--loglevel=INFO", "-s", schedule
        )
        self.hook = {}

    def start(self) -> None:
        if not self.workers.current.wait_until(" ready.", 60):
            raise RuntimeError(
                "the Celery worker did not start: " + self.workers.current.log_path.name
            )
        self.workers.start()

    def prepare(self, project: str) -> None:
        answer = self.stack.call(
            "POST",
            f"/api/v1/projects/{project}/webhooks",
            self.stack.owner.token,
            {"url": self.receiver.url},
        )
        if answer.status != 201:
            raise RuntimeError(f"create webhook: {answer.status} {answer.body}")
        self.hook["secret"] = answer.body["secret"]
        with psycopg.connect(self.stack.database_url()) as conn:
            (self.hook["after"],) = conn.execute(
                "SELECT coalesce(max(id), 0) FROM events_event"
            ).fetchone()

    def settle(self, run: Run) -> None:
        """Wait up to WEBHOOK_WAIT for every committed event to be delivered, and check."""
        ended = time.monotonic()
        note(f"load over; waiting up to {WEBHOOK_WAIT:.0f} s for the deliveries")
        while True:
            expected, succeeded, stored = webhook_events(
                self.stack, run.project, self.hook["after"]
            )
            seen = received_events(self.receiver, self.hook["secret"])
            if (expected <= seen["ids"] and expected <= succeeded) or (
                time.monotonic() - ended > WEBHOOK_WAIT
            ):
                break
            time.sleep(1)
        waited = time.monotonic() - ended
        check_deliveries(run, expected, succeeded, stored, seen, waited, self.workers.restarts)

    def close(self) -> None:
        self.workers.close()
        self.beat.close()
        self.receiver.close()


def scenario_webhooks(stack: Service, args) -> Run:
    rig = WebhookRig(stack)

    def fault(run: Run, t0: float) -> None:
        time.sleep(args.duration * 0.2)
        at = time.monotonic() - t0
        rig.workers.replace()
        note(f"SIGKILL to the Celery worker at {at:.1f} s; starting another")
        time.sleep(max(0.0, t0 + args.duration * 0.4 - time.monotonic()))
        stack.redis.stop()
        note(f"Redis (the broker) stopped at {time.monotonic() - t0:.1f} s")
        time.sleep(args.outage)
        stack.redis.start()
        note(f"Redis back at {time.monotonic() - t0:.1f} s")
        time.sleep(max(0.0, t0 + args.duration * 0.65 - time.monotonic()))
        stack.postgres.stop("immediate")
        note(f"PostgreSQL stopped (immediate) at {time.monotonic() - t0:.1f} s")
        time.sleep(args.outage)
        stack.postgres.start()
        note(f"PostgreSQL back at {time.monotonic() - t0:.1f} s")

    try:
        rig.start()
        run = stack.drive("webhooks", "HOOK", args.duration, fault, rig.prepare)
        rig.settle(run)
    finally:
        rig.close()
    return run


def check_deliveries(run, expected, succeeded, stored, seen, waited, restarts) -> None:
    missing = expected - seen["ids"]
    name = run.name
    check(
        f"{name}: every committed event of the project reached the receiver",
        expected and not missing,
        f"{len(expected)} events, {len(missing)} never received "
        f"{sorted(missing)[:10]}, after {waited:.1f} s",
    )
    unsettled = expected - succeeded
    check(
        f"{name}: every committed event has a succeeded delivery",
        expected and not unsettled,
        f"{len(unsettled)} without one {sorted(unsettled)[:10]}",
    )
    unknown = seen["ids"] - stored
    check(
        f"{name}: the receiver saw no event that is not in the database",
        not unknown,
        f"{len(unknown)} unknown {sorted(unknown)[:10]}",
    )
    check(
        f"{name}: every request was signed and its webhook-id matches its payload",
        seen["messages"] and not seen["bad"],
        f"{seen['messages']} requests, {len(seen['bad'])} bad: {seen['bad'][:3]}",
    )
    run.notes.append(
        f"{len(expected)} events, {seen['messages']} webhook requests "
        f"({seen['messages'] - len(seen['ids'])} repeats: at least once); the last looked "
        f"for {waited:.1f} s after the load ended"
        + (
            f"; workers restarted after exiting on their own: {', '.join(restarts)}"
            if restarts
            else ""
        )
    )


def webhook_events(stack: Service, key: str, after: int) -> tuple[set[int], set[int], set[int]]:
    """The project's events since the webhook, those with a succeeded delivery, and every
    event id stored."""
    with psycopg.connect(stack.database_url(), connect_timeout=5) as conn:

        def ids(query: str, params=()) -> set[int]:
            return {i for (i,) in conn.execute(query, params)}

        return (
            ids(
                "SELECT e.id FROM events_event e JOIN projects_project p ON p.id = e.project_id"
                " WHERE p.key = %s AND e.id > %s",
                [key, after],
            ),
            ids("SELECT DISTINCT event_id FROM webhooks_delivery WHERE status = 'succeeded'"),
            ids("SELECT id FROM events_event"),
        )


def received_events(receiver: Receiver, secret: str) -> dict:
    """The event ids the receiver got, and the requests whose signature or id was wrong."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    verifier = Webhook(secret)
    ids, bad = set(), []
    messages = receiver.messages()
    for headers, body in messages:
        headers = {k.lower(): v for k, v in headers.items()}
        try:
            verifier.verify(body, headers)
            payload_id = json.loads(body)["id"]
        except (WebhookVerificationError, ValueError, KeyError, TypeError) as e:
            bad.append(f"{headers.get('webhook-id')}: {e!r}")
            continue
        if headers.get("webhook-id") != f"msg_{payload_id}":
            bad.append(f"{headers.get('webhook-id')} carries event {payload_id}")
            continue
        ids.add(payload_id)
    return {"ids": ids, "bad": bad, "messages": len(messages)}
