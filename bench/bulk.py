#!/usr/bin/env python
"""The bulk-edit benchmark: one POST /api/v1/issues/bulk of 100 issues against the 100
single PATCH requests a script would otherwise send.

    .venv/bin/python bench/bulk.py [--issues 100] [--rounds 5]

With PostgreSQL and Redis running locally it
  1. creates the database `tracker_bench_bulk` (dropping an earlier one) on
     BENCH_POSTGRES_URL's server, migrates it, and seeds one project with an owner, a
     developer and --issues issues (through the services, as the API would);
  2. starts gunicorn as the image runs it (the Dockerfile's CMD, gunicorn.conf.py, the
     production settings) on a free local port, with Redis (BENCH_REDIS_URL) as the cache;
  3. signs in as the owner and, for --rounds rounds in the order A B B A (so drift of the
     machine cancels out), changes the priority and assignee of all --issues issues:
     A) one PATCH per issue, one after the other on one kept-alive connection, as a script
     would; B) one bulk edit of all of them (atomic). Each round sets values the issues do
     not have yet, so every request really changes every issue;
  4. prints the wall time of each round, the medians, and how many times faster the bulk
     edit is, with the statements each took (django_db_execute_total from /metrics).

Environment: BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres),
BENCH_REDIS_URL (default redis://127.0.0.1:6379/9). The figures depend on the machine;
README, "Performance", gives the latest.
"""

import argparse
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: harness
from harness import ROOT
from harness.image import HOST, production_env
from harness.postgres import Database
from harness.server import Gunicorn

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
DATABASE = Database(POSTGRES_URL, "tracker_bench_bulk")
PASSWORD = "a bench passphrase, long enough"  # noqa: S105
METRICS_TOKEN = secrets.token_urlsafe(24)
PRIORITIES = ["lowest", "low", "medium", "high", "highest"]


def environment(tmp: Path) -> dict[str, str]:
    return {
        **production_env(
            tmp, database_url=DATABASE.url, redis_url=REDIS_URL, metrics_token=METRICS_TOKEN
        ),
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "WARNING",
        # One script sending far more requests than a person would.
        "THROTTLE_USER": "1000000/s",
        "THROTTLE_LOGIN": "1000000/s",
        "BULK_EDIT_MAX_ISSUES": "1000",
    }


def seed(count: int) -> None:
    """In a process of its own, with the server's settings (run as `--seed N`)."""
    import django

    django.setup()
    from issues.services import issue_create
    from projects.models import Role
    from projects.services import membership_add, project_create
    from tests.factories import UserFactory

    owner = UserFactory(username="bench-owner", password=PASSWORD)
    project = project_create(creator=owner, key="BULK", name="Bulk", visibility="private")
    for name in ("dev-a", "dev-b"):
        membership_add(
            project=project, user=UserFactory(username=name), role=Role.DEVELOPER, actor=owner
        )
    for n in range(count):
        issue_create(project=project, reporter=owner, title=f"Issue {n}")


class Client:
    """JSON over one kept-alive connection, as a script's HTTP session keeps it."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.token = None

    def send(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict | str]:
        headers = {
            "Content-Type": "application/json",
            "Host": HOST,
            "X-Forwarded-Proto": "https",  # what the TLS-terminating ingress adds
            **(headers or {}),
        }
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        self.connection.request(method, path, json.dumps(body) if body else None, headers)
        response = self.connection.getresponse()
        raw = response.read().decode()
        is_json = response.getheader("Content-Type", "").endswith("json")
        return response.status, json.loads(raw) if is_json else raw


def expect(ok: bool, answer) -> None:
    if not ok:
        sys.exit(f"Unexpected answer: {answer}")


def statements(client: Client) -> float:
    metrics = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    status, text = client.send("GET", "/metrics", headers=metrics)
    expect(status == 200, text)
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(("django_db_execute_total{", "django_db_execute_many_total{"))
    )


def singles(client: Client, keys: list[str], change: dict) -> None:
    for key in keys:
        status, body = client.send("PATCH", f"/api/v1/issues/{key}", change)
        expect(status == 200, body)


def bulk(client: Client, keys: list[str], change: dict) -> None:
    status, body = client.send("POST", "/api/v1/issues/bulk", {"issues": keys, "changes": change})
    expect(status == 200 and body["succeeded"] == len(keys), body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed is not None:
        seed(args.seed)
        return

    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as folder:
        tmp = Path(folder)
        env = environment(tmp)
        print(f"Creating {DATABASE.name}, migrating, seeding {args.issues} issues")
        DATABASE.create()
        python = str(Path(sys.executable))
        migrate = [python, "manage.py", "migrate", "-v0"]
        subprocess.run(migrate, cwd=ROOT, env=env, check=True)  # noqa: S603
        subprocess.run(  # noqa: S603
            [python, "bench/bulk.py", "--seed", str(args.issues)], cwd=ROOT, env=env, check=True
        )
        server = Gunicorn(env, tmp)
        try:
            if not server.wait_until_up():
                sys.exit(f"gunicorn did not start:\n{server.tail()}")
            client = Client(server.port)
            status, body = client.send(
                "POST", "/api/v1/auth/login", {"username": "bench-owner", "password": PASSWORD}
            )
            expect(status == 200, body)
            client.token = body["access_token"]
            keys = [f"BULK-{n}" for n in range(1, args.issues + 1)]
            times: dict[str, list[float]] = {"single": [], "bulk": []}
            counts: dict[str, list[float]] = {"single": [], "bulk": []}
            order = ["single", "bulk", "bulk", "single"]
            for round_ in range(args.rounds * 2):
                kind = order[round_ % 4]
                change = {
                    "priority": PRIORITIES[round_ % len(PRIORITIES)],
                    "assignee": "dev-a" if round_ % 2 else "dev-b",
                }
                before = statements(client)
                started = time.perf_counter()
                (singles if kind == "single" else bulk)(client, keys, change)
                took = time.perf_counter() - started
                counts[kind].append(statements(client) - before)
                times[kind].append(took)
                print(f"  round {round_ + 1:2} {kind:6} {took * 1000:8.1f} ms")
        finally:
            server.stop()
            DATABASE.drop()

    single, together = statistics.median(times["single"]), statistics.median(times["bulk"])
    print()
    print(f"{args.issues} issues, priority and assignee changed; {args.rounds} rounds each")
    print(
        f"  {args.issues} single PATCH requests: {single * 1000:8.1f} ms (median), "
        f"{statistics.median(counts['single']):.0f} SQL statements"
    )
    print(
        f"  one bulk edit:              {together * 1000:8.1f} ms (median), "
        f"{statistics.median(counts['bulk']):.0f} SQL statements"
    )
    print(f"  the bulk edit is {single / together:.1f}x faster (target: at least 5x)")


if __name__ == "__main__":
    main()
