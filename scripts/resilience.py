#!/usr/bin/env python
"""Load and fault tests of the service as the image runs it, on loopback only.

    .venv/bin/python scripts/resilience.py all --duration 20      # what CI runs
    .venv/bin/python scripts/resilience.py load --duration 60     # the operator's run
    .venv/bin/python scripts/resilience.py pg-restart redis-stop  # some scenarios

Everything runs in a temporary folder and is stopped at the end: a throwaway PostgreSQL
cluster (initdb/pg_ctl from PG_BIN, default the newest /usr/lib/postgresql/*/bin; as root
it runs as the `postgres` user), a redis-server, both on free ports, and gunicorn started
with the Dockerfile's CMD and production settings (the harness: harness/stack.py). The
shared PostgreSQL and Redis are not touched. The scenarios are modules of
scripts/resilience_scenarios/; this file runs them and reports.

Each scenario drives --clients concurrent clients (lists, detail, create, comment,
transition) for --duration seconds against a project of its own:

- load        zero 5xx; every acknowledged create, comment and transition is stored once.
- pg-restart  PostgreSQL stops (immediate: a crash) for --outage seconds mid-load: /ready
              is 503 naming the database and the API answers JSON 503s
              (database_unavailable), never a 500; within 5 s of the database's return
              requests succeed again, without restarting gunicorn; no acknowledged write lost.
- redis-stop  Redis stops mid-load: the API keeps answering (no 5xx), a logged-out token
              stays refused (the blocklist falls back to the database), throttles let
              requests through (fail open, documented), Idempotency-Key creates proceed,
              /ready is 503 naming the cache; after Redis returns, /ready is 200 again.
- worker-kill one gunicorn worker gets SIGKILL mid-load: gunicorn starts a new one, each
              client loses at most the request it had in flight, nothing is half-written.
- webhooks    a Celery worker (prefork) and beat deliver the project's events to a receiver
              on loopback while the worker gets SIGKILL (a new one starts), the broker
              (Redis) stops for --outage seconds and PostgreSQL restarts: within
              WEBHOOK_WAIT seconds of the load's end every committed event of the project
              has reached the receiver (webhook-id msg_<event id>, valid signature) and has
              a succeeded delivery, and the receiver saw no event that is not in the database.
- broker-restarts  Redis (the broker) stops for a second and restarts 5 times, 8 s apart,
              while a quarter of the clients write and the worker holds retries it has not
              acknowledged (the receiver turns away one first attempt in four): the same
              Celery worker process is alive at the end, never restarted, and every
              committed event reached the receiver as in `webhooks`. (With kombu's own
              Redis transport the worker died in such outages: config/celery.py.)

After every scenario the database is checked: issue numbers have no gaps, every issue has
its one "created" event and every comment its one "commented" event, every issue's status
is its last transition's, and every write a client was told succeeded is there exactly
once (a write whose answer was lost may or may not be there). Throttles are raised for the
run: it measures the service, not the limits. Prints a table of figures; exits 1 if any
check failed.

--pgbouncer puts a PgBouncer in transaction pooling mode (harness/pgbouncer.py, 4 server
connections) between gunicorn and PostgreSQL, with DATABASE_POOLER=pgbouncer, as README's
"Deploy" describes; `load --pgbouncer` is what .ci/run runs of it.
"""

import argparse
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness
from resilience_scenarios import SCENARIOS, WEBHOOK_WAIT
from resilience_scenarios.data import check_writes
from resilience_scenarios.service import Service

from harness.report import check, failed, note, summary, table


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def print_figures(rows) -> None:
    """A row of figures per scenario run, then each run's notes."""
    header = (
        "scenario",
        "seconds",
        "requests",
        "req/s",
        "2xx",
        "4xx",
        "5xx",
        "no answer",
        "creates ack/found",
        "comments ack/found",
        "moves ack/found",
        "p50 ms",
        "p95 ms",
    )
    lines = [header]
    for run, figures in rows:
        statuses = run.statuses()
        latencies = [(r.answer.ended - r.answer.started) * 1000 for r in run.records]
        lines.append(
            (
                run.name,
                f"{run.seconds:.0f}",
                str(len(run.records)),
                f"{len(run.records) / run.seconds:.0f}",
                str(statuses["2xx"]),
                str(statuses["4xx"]),
                str(statuses["5xx"]),
                str(statuses["error"]),
                "{}/{}".format(*figures.get("creates", ("-", "-"))),
                "{}/{}".format(*figures.get("comments", ("-", "-"))),
                "{}/{}".format(*figures.get("moves", ("-", "-"))),
                f"{percentile(latencies, 0.5):.0f}",
                f"{percentile(latencies, 0.95):.0f}",
            )
        )
    print()
    table(lines)
    for run, _ in rows:
        for line in run.notes:
            print(f"{run.name}: {line}")


def over_budget(signum, frame):
    raise TimeoutError("the run took longer than its budget")


def interrupted(signum, frame):
    raise KeyboardInterrupt()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", default=["all"], choices=[*SCENARIOS, "all"])
    parser.add_argument("--duration", type=float, default=60, help="seconds of load per scenario")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--outage", type=float, default=3, help="seconds a dependency is down")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    parser.add_argument(
        "--pgbouncer",
        action="store_true",
        help="serve through a PgBouncer in transaction pooling mode (DATABASE_POOLER=pgbouncer)",
    )
    args = parser.parse_args()
    names = tuple(SCENARIOS) if "all" in args.scenarios else tuple(dict.fromkeys(args.scenarios))
    if args.duration < 10:
        parser.error("--duration must be at least 10 seconds (room for a fault and recovery)")

    # A hard bound on the whole run: nothing here may hang CI.
    budget = int(len(names) * (args.duration + 60) + 240)
    budget += int(WEBHOOK_WAIT) * len({"webhooks", "broker-restarts"} & set(names))
    signal.signal(signal.SIGALRM, over_budget)
    signal.signal(signal.SIGTERM, interrupted)
    signal.alarm(budget)

    folder = Path(tempfile.mkdtemp(prefix="resilience-"))
    folder.chmod(0o711)  # the postgres user must reach its own folder inside
    stack = Service(folder, args.clients, pgbouncer=args.pgbouncer)
    rows = []
    try:
        started = time.monotonic()
        stack.start()
        note(
            f"PostgreSQL :{stack.postgres.port}, Redis :{stack.redis.port}, "
            f"gunicorn :{stack.server.port}; ready in {time.monotonic() - started:.1f} s"
            + (f"; through PgBouncer :{stack.pgbouncer.port}" if stack.pgbouncer else "")
        )
        for name in names:
            print(f"\n==> {name}: {args.clients} clients for {args.duration:.0f} s", flush=True)
            run = SCENARIOS[name](stack, args)
            rows.append((run, check_writes(stack, run)))
    except (Exception, KeyboardInterrupt) as e:
        check("the run completed", False, repr(e))
        print(stack.tail())
    finally:
        signal.alarm(0)
        stack.close()
        if args.keep:
            print(f"      logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)

    print_figures(rows)
    code = summary("Resilience")
    for name in failed():
        print(f"FAILED  {name}")
    return code


if __name__ == "__main__":
    sys.exit(main())
