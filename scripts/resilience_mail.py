#!/usr/bin/env python
"""Notification mail under faults: a real SMTP server, a real Celery worker with its beat.

    .venv/bin/python scripts/resilience_mail.py                 # both scenarios
    .venv/bin/python scripts/resilience_mail.py --issues 20 --watchers 25
    .venv/bin/python scripts/resilience_mail.py --database-url postgres://postgres@127.0.0.1:5432/postgres

Everything runs in a temporary folder on loopback and is stopped at the end: a database
(a SQLite file, or with --database-url a new database `tracker_resilience_mail` created on
that PostgreSQL server and dropped afterwards), a throwaway redis-server as the broker on a
free port (the filesystem broker when redis-server is not installed), an SMTP server
(aiosmtpd, in this process) on a free port, and `celery -A config worker --beat` as a
subprocess, with the notification windows shortened to seconds. This process makes the
changes through the services (so their events queue the consumer, as in production) and
reads the outcome from the database and the SMTP server.

- smtp-down    A burst of comments, each on an issue with --watchers watchers, while
               nothing listens on the SMTP port: every mail is made and tried and stays
               pending. Then the SMTP server starts: every mail arrives exactly once
               (counted by Message-ID) and every row is `sent`.
- worker-kill  Another burst, the SMTP server taking --smtp-delay seconds per message; once
               about a third of the mails have arrived, the worker (its whole process group)
               gets SIGKILL and a new one starts. Every mail arrives at least once; a mail
               arrives twice only if the SMTP server had accepted it and its row was not yet
               `sent` when the worker died. The script reports how many that was.

Prints a table; exits 1 if a check failed. tests/notifications/test_resilience_mail.py runs
it with small numbers.
"""

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "tracker_resilience_mail"


START = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - START:6.1f}s] {text}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, seconds: float, what: str, step: float = 0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise TimeoutError(f"gave up after {seconds:.0f} s waiting for {what}")


class Smtp:
    """An SMTP server on a fixed port that can be down (nothing listening) and up; it
    records each accepted message's Message-ID, after an optional delay per message."""

    def __init__(self, port: int):
        self.port = port
        self.delay = 0.0
        self.accepted: list[str] = []
        self.lock = threading.Lock()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.accepted.append(str(message["Message-ID"]))
        return "250 Message accepted"

    def up(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def down(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def received(self) -> Counter:
        with self.lock:
            return Counter(self.accepted)


class Worker:
    """`celery -A config worker --beat` in a process group of its own (so SIGKILL takes
    the pool's children too)."""

    def __init__(self, env: dict, tmp: Path, solo: bool):
        pool = ["--pool=solo"] if solo else ["--pool=prefork", "--concurrency=2"]
        self.log = open(tmp / "worker.log", "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(  # noqa: S603
            [
                str(ROOT / ".venv" / "bin" / "celery"),
                "-A",
                "config",
                "worker",
                "--beat",
                "--loglevel=WARNING",
                "--schedule",
                str(tmp / "beat-schedule"),
                *pool,
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)  # warm shutdown
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
                return
        self.log.close()


def environment(tmp: Path, args, smtp_port: int) -> tuple[dict, list]:
    """The worker's and this process's environment, and what to stop at the end."""
    stops = []
    if args.database_url:
        server = urlsplit(args.database_url)
        database_url = urlunsplit(server._replace(path=f"/{DATABASE}"))
        _recreate_database(args.database_url)
        stops.append(lambda: _drop_database(args.database_url))
    else:
        database_url = f"sqlite:///{tmp / 'db.sqlite3'}?timeout=30"
    if not shutil.which("redis-server"):
        sys.exit(
            "redis-server is not installed: the throwaway broker (apt-get install redis-server)."
        )
    port = free_port()
    # A throwaway: nothing on disk.
    command = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    redis = subprocess.Popen(  # noqa: S603
        [shutil.which("redis-server"), *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stops.append(lambda: (redis.terminate(), redis.wait(10)))
    broker = f"redis://127.0.0.1:{port}/0"
    wait_for(lambda: _listening(port), 10, "redis-server")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_TIMEOUT": "2",
        # The windows, shortened from minutes to seconds.
        "NOTIFY_IMMEDIATE_QUIET": "0",
        "NOTIFY_IMMEDIATE_MAX": "1",
        "NOTIFY_BATCH_QUIET": "1",
        "NOTIFY_BATCH_MAX": "2",
        "NOTIFY_CLOSE_INTERVAL": "1",
        "NOTIFY_SWEEP_INTERVAL": "1",
        "NOTIFY_EMAIL_RETRY_SCHEDULE": "1",
        "NOTIFY_EMAIL_LEASE": str(args.lease),
        "WEBHOOK_SWEEP_INTERVAL": "3600",
        "LOG_LEVEL": "WARNING",
    }
    # The cache stays in each process's memory; the broker is the throwaway Redis.
    env.pop("REDIS_URL", None)
    return env, stops


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _admin_connection(server_url: str):
    import psycopg

    connection = psycopg.connect(server_url, autocommit=True)
    return connection


def _recreate_database(server_url: str) -> None:
    with _admin_connection(server_url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')


def _drop_database(server_url: str) -> None:
    from django.db import connections

    connections.close_all()
    with _admin_connection(server_url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


# -- the scenarios (run after django.setup()) -------------------------------------------------


def burst(project, owner, watchers, issues: int) -> None:
    """One comment on each of `issues` new issues that every watcher watches."""
    from django.db import transaction

    from issues.services import issue_comment, issue_create
    from notifications.models import IssueSubscription

    for n in range(issues):
        with transaction.atomic():
            issue = issue_create(project=project, reporter=owner, title=f"Burst issue {n}")
        IssueSubscription.objects.bulk_create(
            [IssueSubscription(user=w, issue=issue, state="watching") for w in watchers]
        )
        with transaction.atomic():
            issue_comment(issue=issue, author=owner, body=f"News on issue {n}.")


def mails(since_id: int):
    from notifications.models import Email

    return Email.objects.filter(pk__gt=since_id)


def message_ids(emails) -> dict[int, str]:
    from notifications import mail

    return {
        pk: f"<notification.{pk}@{mail.domain()}>" for pk in emails.values_list("pk", flat=True)
    }


def smtp_down(args, smtp, workers, people) -> dict:
    from notifications.models import Email

    project, owner, watchers = people
    expected = args.issues * len(watchers)
    start = Email.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    smtp.down()
    burst(project, owner, watchers, args.issues)
    say("smtp-down: burst made, SMTP down")
    wait_for(
        lambda: mails(start).filter(attempts__gte=1).count() >= expected,
        args.timeout,
        f"{expected} mails tried while the SMTP server is down",
    )
    pending_while_down = mails(start).filter(status="pending").count()
    say(f"smtp-down: {pending_while_down} mails tried, pending")
    time.sleep(args.outage)
    smtp.up()
    say("smtp-down: SMTP up")
    wait_for(
        lambda: mails(start).filter(status=Email.Status.SENT).count() >= expected,
        args.timeout,
        "every mail sent once the SMTP server is up",
    )
    ids = message_ids(mails(start))
    received = smtp.received()
    copies = [received[m] for m in ids.values()]
    return {
        "scenario": "smtp-down",
        "mails": len(ids),
        "expected": expected,
        "pending while down": pending_while_down,
        "sent": mails(start).filter(status="sent").count(),
        "lost": sum(1 for c in copies if c == 0),
        "duplicates": sum(c - 1 for c in copies if c > 1),
        "allowed duplicates": 0,
        "ok": len(ids) == expected and all(c == 1 for c in copies),
    }


def worker_kill(args, smtp, workers, people) -> dict:
    from notifications.models import Email

    project, owner, watchers = people
    expected = args.issues * len(watchers)
    start = Email.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    before = smtp.received()
    smtp.delay = args.smtp_delay
    try:
        burst(project, owner, watchers, args.issues)
        say("worker-kill: burst made")
        wait_for(
            lambda: sum((smtp.received() - before).values()) >= expected // 3,
            args.timeout,
            "a third of the mails to arrive",
            step=0.02,
        )
        workers.kill()
        say("worker-kill: worker killed (SIGKILL to its process group)")
        received_at_kill = smtp.received() - before
        ids = message_ids(mails(start))
        sent_at_kill = set(mails(start).filter(status="sent").values_list("pk", flat=True))
        # Accepted by the SMTP server, not yet recorded as sent: these may go out again.
        at_risk = {pk for pk, m in ids.items() if received_at_kill[m] and pk not in sent_at_kill}
        workers.start()
        say("worker-kill: a new worker")
        wait_for(
            lambda: mails(start).count() >= expected
            and mails(start).exclude(status=Email.Status.SENT).count() == 0,
            args.timeout + args.lease,
            "every mail sent after the worker was killed",
        )
    finally:
        smtp.delay = 0
    ids = message_ids(mails(start))
    received = smtp.received() - before
    duplicated = {pk for pk, m in ids.items() if received[m] > 1}
    lost = [pk for pk, m in ids.items() if received[m] == 0]
    return {
        "scenario": "worker-kill",
        "mails": len(ids),
        "expected": expected,
        "arrived before the kill": sum(received_at_kill.values()),
        "sent": mails(start).filter(status="sent").count(),
        "lost": len(lost),
        "duplicates": sum(received[ids[pk]] - 1 for pk in duplicated),
        "allowed duplicates": len(at_risk),
        "ok": len(ids) == expected and not lost and duplicated <= at_risk,
    }


class Workers:
    """The one worker of the run, started again after a kill."""

    def __init__(self, env: dict, tmp: Path, solo: bool):
        self.env, self.tmp, self.solo = env, tmp, solo
        self.current = None

    def start(self) -> None:
        self.current = Worker(self.env, self.tmp, self.solo)

    def kill(self) -> None:
        self.current.kill()

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", default=["smtp-down", "worker-kill"])
    parser.add_argument("--issues", type=int, default=10, help="issues in each burst")
    parser.add_argument("--watchers", type=int, default=20, help="watchers of each issue")
    parser.add_argument("--outage", type=float, default=3, help="seconds the SMTP stays down")
    parser.add_argument("--smtp-delay", type=float, default=0.03, help="seconds per message")
    parser.add_argument("--lease", type=int, default=5, help="NOTIFY_EMAIL_LEASE, seconds")
    parser.add_argument("--timeout", type=float, default=90, help="seconds per wait")
    parser.add_argument("--database-url", help="a PostgreSQL server (default: SQLite)")
    args = parser.parse_args(argv)
    unknown = set(args.scenarios) - {"smtp-down", "worker-kill"}
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")

    tmp = Path(tempfile.mkdtemp(prefix="resilience-mail-"))
    smtp = Smtp(free_port())
    worker_env, stops = environment(tmp, args, smtp.port)
    results = []
    try:
        os.environ.update(worker_env)
        os.environ.pop("REDIS_URL", None)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command

        say("migrating")
        call_command("migrate", verbosity=0)
        say("migrated")
        people = _people(args.watchers)
        smtp.up()
        # SQLite: one writing process beside this one.
        workers = Workers(worker_env, tmp, solo=not args.database_url)
        workers.start()
        stops.append(workers.stop)
        for name in args.scenarios:
            run = smtp_down if name == "smtp-down" else worker_kill
            results.append(run(args, smtp, workers, people))
    except (TimeoutError, AssertionError) as error:
        print(f"FAILED: {error}\n--- worker log ---", file=sys.stderr)
        log = tmp / "worker.log"
        print(log.read_text()[-4000:] if log.exists() else "(none)", file=sys.stderr)
        results.append({"scenario": "run", "ok": False, "error": str(error)})
    finally:
        smtp.down()
        for stop in reversed(stops):
            with contextlib.suppress(Exception):
                stop()
        shutil.rmtree(tmp, ignore_errors=True)
    _report(results)
    return 0 if results and all(r["ok"] for r in results) else 1


def _people(watchers: int):
    from accounts.models import User
    from projects.models import Membership, Project, Role

    owner = User.objects.create(username="owner", email="owner@example.com")
    project = Project.objects.create(key="MAIL", name="Mail", created_by=owner)
    Membership.objects.create(project=project, user=owner, role=Role.OWNER)
    people = User.objects.bulk_create(
        [User(username=f"watcher{n}", email=f"watcher{n}@example.com") for n in range(watchers)]
    )
    Membership.objects.bulk_create(
        [Membership(project=project, user=p, role=Role.VIEWER) for p in people]
    )
    return project, owner, people


def _report(results: list[dict]) -> None:
    keys = []
    for result in results:
        keys += [k for k in result if k not in keys]
    width = max(len(k) for k in keys) if keys else 10
    for result in results:
        print(f"\n{result['scenario']}: {'OK' if result['ok'] else 'FAILED'}")
        for key in keys:
            if key in result and key not in ("scenario", "ok"):
                print(f"  {key:<{width}}  {result[key]}")


if __name__ == "__main__":
    sys.exit(main())
