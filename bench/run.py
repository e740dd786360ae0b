#!/usr/bin/env python
"""The performance benchmark: one command, from an empty database to a table of figures.

    .venv/bin/python bench/run.py --issues 100000

With PostgreSQL and Redis running locally and `wrk` installed (Debian: `apt-get install
wrk`), it
  1. creates the database `tracker_bench` (dropping an earlier one), migrates it and seeds
     it (bench/seed.py: --issues issues in 12 projects, 50 users, labels, comments);
  2. starts gunicorn with gunicorn.conf.py and the production settings (bench/settings.py
     adds only the reference endpoints) on a free local port, with Redis, a generated
     signing key and SECRET_KEY;
  3. for each scenario: warms up, then drives load with wrk for --duration seconds and
     reads requests/s and latency percentiles from wrk, SQL statements per request from the
     server's own /metrics (django_db_execute_total, summed over workers, before and after);
  4. measures the references (data floors, naive baseline, bare WSGI floor) the same way
     in the same run;
  5. subscribes five webhooks of CORE to a receiver of its own before "create issue, 5
     webhooks" (compared with "create issue"); at the end relays that scenario's events,
     starts one Celery worker process and counts the deliveries per second it makes;
  6. measures authentication on the API root at one connection: none, a JWT, and a
     personal access token;
  6b. serves the issue list (cursor) and the issue detail with 2 and with 4 gunicorn
     processes on the same cores and database, alternated A B B A (--no-scaling skips it);
  7. prints a table and writes JSON and Markdown to bench/results/ with the machine,
     versions, date and load average, and whether each target is met.

Environment: BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres: the
server where `tracker_bench` is created), BENCH_DATABASE (default tracker_bench),
BENCH_REDIS_URL (default redis://127.0.0.1:6379/8, a Redis database this script empties).

--pgbouncer serves through a PgBouncer in transaction pooling mode (harness/pgbouncer.py,
DATABASE_POOLER=pgbouncer, 8 server connections: one per gunicorn thread), as README's
"PgBouncer" describes; results then go to issues-N-pgbouncer.{json,md}.

wrk's 8 connections are kept alive for a whole round, and each stays with the gunicorn
worker that accepted it: a round where one worker got most of them measures one worker,
not two. Each round records how its connections were spread (`spread`, per worker); a
round more lopsided than 6:2 is run again, up to twice, and the spread is reported.

The processes come from the harness (harness/); the scenarios are bench/scenarios.py, the
measuring bench/load.py, the targets bench/targets.py and the report bench/report.py.
"""

import argparse
import datetime
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: harness, bench
from bench import load, report, scenarios, targets
from harness import ROOT
from harness.image import base_env, write_private_key
from harness.postgres import Database
from harness.receiver import Receiver

BENCH = ROOT / "bench"
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
DATABASE = Database(POSTGRES_URL, os.environ.get("BENCH_DATABASE", "tracker_bench"))


def server_env(tmp: Path) -> dict[str, str]:
    return {
        **base_env(tmp),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PRIVATE_KEY_PATH": str(write_private_key(tmp)),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": DATABASE.url,
        "REDIS_URL": REDIS_URL,
        "STATIC_ROOT": str(tmp / "static"),
        "LOG_LEVEL": "WARNING",
        "METRICS_TOKEN": load.METRICS_TOKEN,
        # The benchmark's single caller makes far more requests than any person would. A
        # per-second window: the throttle keeps every request time of the window (a list
        # in Redis, api/throttling.py), so an hour's window would hold the whole run.
        "THROTTLE_USER": "1000000/s",
        "THROTTLE_LOGIN": "1000000/s",
        # No recycling during the run: worker memory at the end then shows any growth.
        "GUNICORN_MAX_REQUESTS": "0",
    }


def seeded() -> tuple[int, float] | None:
    """(issues, seconds the seeding took) of the database, if it was seeded completely."""
    import psycopg

    try:
        with psycopg.connect(DATABASE.url) as conn:
            return conn.execute("SELECT issues, round(seconds) FROM bench_seed").fetchone()
    except psycopg.Error:
        return None


def vacuum() -> None:
    """VACUUM ANALYZE the database, as seeding ends. An earlier run's writes (thousands of
    issues, comments, transitions) leave pages the visibility map no longer marks, and
    PostgreSQL then plans counts that read only indexes differently: a reused database
    starts where a fresh one does."""
    import psycopg

    with psycopg.connect(DATABASE.url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def prepare(args, env: dict) -> tuple[dict, float]:
    """The database seeded with --issues issues (reused if --reuse-db finds it so), and
    what the scenarios need from it (bench/prepare.py); (facts, seconds seeding took)."""
    run_python = scenarios.run_python
    earlier = seeded() if args.reuse_db else None
    if earlier and earlier[0] == args.issues:
        print(f"Reusing {DATABASE.name} ({args.issues:,} issues)")
        run_python(["manage.py", "migrate", "-v0"], env)
        vacuum()
        seed_seconds = earlier[1]
    else:
        print(f"Creating {DATABASE.name}, migrating, seeding {args.issues:,} issues")
        DATABASE.create()
        run_python(["manage.py", "migrate", "-v0"], env)
        started = time.monotonic()
        run_python(["-m", "bench.seed", "--issues", str(args.issues)], env)
        seed_seconds = round(time.monotonic() - started, 1)
    depth = min(args.depth, max(2, int(args.issues * 0.9) // 50 - 1))
    facts = json.loads(
        run_python(["-m", "bench.prepare", "--depth", str(depth)], env, True).stdout
    )
    return facts, seed_seconds


def measure_all(args, env: dict, tmp: Path, facts: dict) -> dict:
    """Every scenario --only selects, the deliveries and authentication: the report's
    scenarios, webhook_deliveries, auth_overhead and worker_rss_mb."""
    from bench.seed import PASSWORD

    server = load.Server(env, tmp, "gunicorn")
    receiver = Receiver(status=204, keep=False)
    # The receiver listens on loopback, which webhooks refuse unless told otherwise.
    hooks_env = {**env, "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"}
    measured = {"webhook_deliveries": None}

    def token() -> str:
        return scenarios.login(server, facts["caller"], PASSWORD)

    def subscribe() -> None:
        command = ["-m", "bench.hooks", "subscribe", "CORE", receiver.url, "--count", "5"]
        scenarios.run_python(command, hooks_env, capture=True)

    try:
        server.start()
        print(f"gunicorn on :{server.port}; {args.duration:g} s of load per scenario\n")
        results = []
        # The bare floor first, as the other reads come before the writes: the writes
        # leave pages the visibility map no longer marks (see vacuum()).
        if not args.only or "bare" in args.only:
            results += scenarios.measure_bare(env, tmp, facts, token(), args)
        results += scenarios.measure_api(
            server, facts, args, tmp, token=token, database_url=DATABASE.url, subscribe=subscribe
        )
        measured["scenarios"] = results
        if any(r["scenario"] == "create issue, 5 webhooks" for r in results):
            measured["webhook_deliveries"] = scenarios.measure_deliveries(
                hooks_env, tmp, receiver, args.duration
            )
        measured["auth_overhead"] = scenarios.measure_auth(server, facts, token(), args, tmp)
        measured["worker_rss_mb"] = server.workers_rss_mb()
    finally:
        server.stop()
        receiver.close()
    if not args.no_scaling:
        measured["scaling"] = scenarios.measure_scaling(env, tmp, facts, args)
    return measured


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=100_000, help="issues to seed")
    parser.add_argument("--duration", type=float, default=10, help="seconds of load per scenario")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per scenario")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--depth", type=int, default=10_000, help="page of the deep cursor")
    parser.add_argument(
        "--reuse-db", action="store_true", help="keep tracker_bench if it holds --issues already"
    )
    parser.add_argument(
        "--only",
        help="run only the scenarios whose names contain one of these comma-separated texts",
    )
    parser.add_argument("--output", type=Path, default=BENCH / "results")
    parser.add_argument(
        "--pgbouncer",
        action="store_true",
        help="serve through PgBouncer in transaction pooling mode (DATABASE_POOLER=pgbouncer)",
    )
    parser.add_argument(
        "--no-scaling",
        action="store_true",
        help="skip serving the scaling scenarios with 2 and 4 processes",
    )
    args = parser.parse_args(argv)

    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: the load generator (Debian/Ubuntu: apt-get install wrk).")
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).flushdb()
    except redis.RedisError as e:
        sys.exit(f"Redis at {REDIS_URL} cannot be reached: {e}")

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "static").mkdir()
        env = server_env(tmp)
        facts, seed_seconds = prepare(args, env)
        bouncer = None
        if args.pgbouncer:
            from harness.pgbouncer import PgBouncer

            # Seeding and migrating above went to PostgreSQL directly; the server does not.
            tmp.chmod(0o711)  # PgBouncer runs as postgres when this runs as root
            bouncer = PgBouncer(tmp / "pgbouncer", POSTGRES_URL, pool_size=8)
            bouncer.start()
            env = {
                **env,
                "DATABASE_URL": bouncer.url(DATABASE.name),
                "DATABASE_POOLER": "pgbouncer",
            }
        try:
            measured = measure_all(args, env, tmp, facts)
        finally:
            if bouncer:
                bouncer.close()

    result = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": report.machine(),
        "versions": report.versions(POSTGRES_URL, REDIS_URL),
        "server": "2 gthread workers x 4 threads (gunicorn.conf.py defaults), no recycling"
        + (", through PgBouncer (transaction pooling, 8 server connections)" if bouncer else ""),
        "load": f"{args.connections} connections, {args.threads} threads, {args.warmup:g} s "
        f"warm-up then {args.duration:g} s per scenario",
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "dataset": {
            "issues": args.issues,
            "visible_issues": facts["visible_issues"],
            "seed_seconds": seed_seconds,
            "deep_page": facts["deep_page"],
        },
        "scenarios": measured["scenarios"],
        "auth_overhead": measured["auth_overhead"],
        "webhook_deliveries": measured["webhook_deliveries"],
        "worker_rss_mb": measured["worker_rss_mb"],
        "scaling": measured.get("scaling", {}),
    }
    if not args.only:
        smaller = args.output / "issues-100000.json"
        smaller = (
            json.loads(smaller.read_text())
            if args.issues > 100_000 and smaller.exists() and not args.pgbouncer
            else None
        )
        result["targets"] = targets.verdicts(
            measured["scenarios"],
            facts,
            measured["auth_overhead"],
            measured["worker_rss_mb"],
            smaller,
        )
    else:
        result["targets"] = []
    text = report.markdown(result)
    print("\n" + text)
    if not args.only:
        args.output.mkdir(parents=True, exist_ok=True)
        stem = args.output / f"issues-{args.issues}{'-pgbouncer' if bouncer else ''}"
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
        stem.with_suffix(".md").write_text(text)
        print(f"Wrote {stem}.json and {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
