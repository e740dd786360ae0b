#!/usr/bin/env python
"""The notifications benchmark: the inbox at 100,000 notifications for one person, against
its data floor, and the fan-out of a comment to 500 watchers.

    .venv/bin/python bench/notifications.py                     # 100,000 threads, 10 s rounds
    .venv/bin/python bench/notifications.py --threads 20000 --duration 5

With PostgreSQL and Redis running locally and `wrk` installed, it
  1. creates the database `tracker_bench_notifications` (dropping an earlier one) on
     BENCH_POSTGRES_URL's server, migrates it, and seeds one project, one person who is a
     developer there, --threads issues and a notification thread for each (one per issue,
     as the inbox keeps them; every other one read), through bulk inserts;
  2. measures the fan-out in this process: a comment on an issue with --watchers watchers,
     then the consumer reading its event (`notifications.consumer.events_consume`: threads,
     inbox versions and mail items for every watcher), --rounds times: the wall time
     (median and worst) and the SQL statements of one run;
  3. starts gunicorn with gunicorn.conf.py and production settings
     (bench/notifications_settings.py adds only the data floor) on a free local port, with
     Redis (BENCH_REDIS_URL) for the cache, a generated signing key and SECRET_KEY;
  4. drives each scenario with wrk (--connections, --threads-wrk) for --duration seconds
     after a warm-up, the API with the person's JWT: the first page (50 threads), the unread
     filter, a page 50,000 threads deep (a cursor), an unchanged inbox (If-None-Match:
     304), and the data floor's first page and unread page (bench/notifications_urls.py:
     the same rows through .values() and orjson, no authentication, no DRF);
  5. prints a table: requests/s, p50 and p99 latency, and each API scenario's requests/s
     as a share of its floor's.

Environment: BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres),
BENCH_REDIS_URL (default redis://127.0.0.1:6379/11; the cache's keys are prefixed, nothing
is flushed). The figures depend on the machine: README, "Performance", gives the latest.
"""

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
DATABASE = "tracker_bench_notifications"
HTTPS = {"X-Forwarded-Proto": "https"}  # what the TLS-terminating ingress adds
PAGE = 50
GUNICORN = str(Path(PYTHON).parent / "gunicorn")


def database_url() -> str:
    return urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{DATABASE}"))


def reset_database() -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_private_key(folder: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = folder / "jwt-private.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return path


def environment(tmp: Path, port: int) -> dict[str, str]:
    return {
        "PATH": f"{Path(PYTHON).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "HOME": str(tmp),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "bench.notifications_settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PRIVATE_KEY_PATH": str(write_private_key(tmp)),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url(),
        "REDIS_URL": REDIS_URL,
        "STATIC_ROOT": str(tmp / "static"),
        "LOG_LEVEL": "WARNING",
        # One caller making far more requests than a person would (README, Performance).
        "THROTTLE_USER": "1000000/s",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_MAX_REQUESTS": "0",
    }


# -- seeding and the fan-out (in this process, after django.setup()) --------------------------


def seed(count: int):
    """One project, its developer with `count` threads (every other one read), an actor."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from issues.models import Issue
    from notifications.consumer import inboxes_touch
    from notifications.models import Thread
    from projects.models import Membership, Project, Role

    person = User.objects.create_user(username="reader", email="reader@example.com")
    actor = User.objects.create_user(username="writer", email="writer@example.com")
    project = Project.objects.create(key="BENCH", name="Bench", created_by=actor)
    Membership.objects.create(project=project, user=person, role=Role.DEVELOPER)
    Membership.objects.create(project=project, user=actor, role=Role.OWNER)
    now = timezone.now()
    batch = 5000
    for start in range(0, count, batch):
        numbers = range(start + 1, min(start + batch, count) + 1)
        Issue.objects.bulk_create(
            [Issue(project=project, number=n, title=f"Issue {n}", reporter=actor) for n in numbers]
        )
    Project.objects.filter(pk=project.pk).update(last_issue_number=count)
    issue_ids = list(
        Issue.objects.filter(project=project).order_by("number").values_list("pk", flat=True)
    )
    for start in range(0, count, batch):
        Thread.objects.bulk_create(
            [
                Thread(
                    user=person,
                    issue_id=issue_id,
                    project=project,
                    reason="commented",
                    actor=actor,
                    updated_at=now - timedelta(seconds=n),
                    read_at=now if n % 2 else None,
                )
                for n, issue_id in enumerate(issue_ids[start : start + batch], start)
            ]
        )
    inboxes_touch(user_ids=[person.pk])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return person, actor, project


def deep_cursor(person, offset: int) -> str:
    """The `cursor` of the page that starts after the thread at `offset` (newest first)."""
    from api.pagination import KeysetCursorPagination
    from notifications.selectors import inbox_threads, thread_rows

    row = thread_rows(inbox_threads(person)[offset : offset + 1])[0]
    ordering = [("updated_at", True), ("id", True)]
    return KeysetCursorPagination()._encode(row, ordering, False)


def fan_out(actor, project, watchers: int, rounds: int) -> dict:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from comments.services import comment_create
    from issues.models import Issue
    from notifications import consumer
    from notifications.models import IssueSubscription
    from projects.models import Membership, Role

    people = User.objects.bulk_create(
        [User(username=f"watcher{n}", email=f"watcher{n}@example.com") for n in range(watchers)]
    )
    Membership.objects.bulk_create(
        [Membership(project=project, user=p, role=Role.VIEWER) for p in people]
    )
    issue = Issue.objects.create(project=project, number=10**8, title="Watched", reporter=actor)
    IssueSubscription.objects.bulk_create(
        [IssueSubscription(user=p, issue=issue, state="watching") for p in people]
    )
    consumer.events_consume()
    times, statements = [], 0
    for n in range(rounds):
        with transaction.atomic():
            comment_create(issue=issue, author=actor, body=f"Round {n}")
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            read = consumer.events_consume()
            times.append((time.perf_counter() - start) * 1000)
        statements = len(captured.captured_queries)
        if read != 1:
            sys.exit(f"the consumer read {read} events, not the comment's one")
    return {
        "watchers": watchers,
        "rounds": rounds,
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
        "statements": statements,
    }


# -- HTTP -----------------------------------------------------------------------------------------


class Server:
    def __init__(self, env: dict, tmp: Path):
        self.port = int(env["GUNICORN_BIND"].rsplit(":", 1)[1])
        self.log = tmp / "gunicorn.log"
        env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prometheus")}
        with self.log.open("w") as out:
            self.process = subprocess.Popen(  # noqa: S603
                [GUNICORN, "--config", "gunicorn.conf.py", "config.wsgi"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=out,
            )

    def get(self, path: str, headers: dict) -> tuple[int, dict, bytes]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers={**HTTPS, **headers}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if self.get("/health", {})[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        sys.exit(f"gunicorn did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


LUA_DONE = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    "RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), errors, summary.errors.status))
end
"""


def wrk(server: Server, path: str, headers: dict, seconds: float, args, tmp: Path) -> dict:
    lines = [
        f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}"  # JSON strings are Lua's too
        for name, value in {**HTTPS, **headers}.items()
    ]
    script = tmp / "scenario.lua"
    script.write_text("\n".join(lines) + LUA_DONE)
    done = subprocess.run(  # noqa: S603
        [
            shutil.which("wrk"),
            f"-c{args.connections}",
            f"-t{args.threads_wrk}",
            f"-d{max(1, round(seconds))}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{server.port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        sys.exit(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    requests, duration, p50, p99, errors, non_2xx = map(int, line.split()[1:])
    return {
        "rps": round(requests / (duration / 1e6), 1),
        "p50_ms": round(p50 / 1000, 2),
        "p99_ms": round(p99 / 1000, 2),
        "errors": errors + non_2xx,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=100_000, help="notification threads")
    parser.add_argument("--watchers", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5, help="fan-out runs")
    parser.add_argument("--duration", type=float, default=10, help="seconds per scenario")
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads-wrk", type=int, default=2)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: the load generator (apt-get install wrk).")

    tmp = Path(tempfile.mkdtemp(prefix="bench-notifications-"))
    env = environment(tmp, free_port())
    reset_database()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.services import token_pair_for_user

    call_command("migrate", verbosity=0)
    started = time.monotonic()
    person, actor, project = seed(args.threads)
    seeded = time.monotonic() - started
    depth = args.threads // 2
    cursor = deep_cursor(person, depth)
    fanout = fan_out(actor, project, args.watchers, args.rounds)
    token = token_pair_for_user(user=person).access
    auth = {"Authorization": f"Bearer {token}"}

    server = Server(env, tmp)
    results = []
    try:
        server.wait_until_up()
        inbox = f"/api/v1/me/notifications?page_size={PAGE}"
        status, headers, body = server.get(inbox, auth)
        if status != 200 or len(json.loads(body)["results"]) != PAGE:
            sys.exit(f"the inbox answered {status}: {body[:300]!r}")
        etag = headers["ETag"]
        floor = f"/bench/floor/notifications?user={person.pk}&page_size={PAGE}"
        scenarios = [
            ("inbox, first page", inbox, auth, "floor, first page"),
            ("inbox, unread", f"{inbox}&unread=true", auth, "floor, unread"),
            (f"inbox, {depth:,} deep", f"{inbox}&{urlencode({'cursor': cursor})}", auth, None),
            ("inbox, unchanged (304)", inbox, {**auth, "If-None-Match": etag}, None),
            ("floor, first page", floor, {}, None),
            ("floor, unread", f"{floor}&unread=true", {}, None),
        ]
        for name, path, headers, against in scenarios:
            status = server.get(path, headers)[0]
            if status not in (200, 304):
                sys.exit(f"{name}: {status}")
            wrk(server, path, headers, args.warmup, args, tmp)
            results.append({"name": name, "against": against, "status": status})
            results[-1] |= wrk(server, path, headers, args.duration, args, tmp)
    finally:
        server.stop()
    by_name = {r["name"]: r for r in results}
    print(
        f"\nInbox: {args.threads:,} threads for one person (seeded in {seeded:.0f} s); "
        f"page_size={PAGE}; wrk -c{args.connections} -t{args.threads_wrk} "
        f"-d{args.duration:g}s after a {args.warmup:g} s warm-up; gunicorn as "
        "gunicorn.conf.py sets it, production settings, Redis cache."
    )
    print(f"{'scenario':<26}{'status':>7}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'vs floor':>10}")
    for r in results:
        share = ""
        if r["against"]:
            share = f"{r['rps'] / by_name[r['against']]['rps']:.0%}"
        print(
            f"{r['name']:<26}{r['status']:>7}{r['rps']:>10}{r['p50_ms']:>9}{r['p99_ms']:>9}"
            f"{share:>10}" + (f"  ({r['errors']} errors)" if r["errors"] else "")
        )
    print(
        f"\nFan-out: a comment on an issue with {fanout['watchers']} watchers, read by the "
        f"consumer: median {fanout['median_ms']} ms, worst {fanout['max_ms']} ms over "
        f"{fanout['rounds']} runs; {fanout['statements']} SQL statements per run "
        "(the same for 5 watchers)."
    )
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
