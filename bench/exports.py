#!/usr/bin/env python
"""The export benchmark: rows per second, and a worker's memory while it writes.

    .venv/bin/python bench/exports.py --issues 100000 [--reuse-db] [--pgbouncer]

With PostgreSQL running locally it
  1. creates the database BENCH_DATABASE (default tracker_h28x_bench; dropped first),
     migrates it and seeds ONE project with --issues issues, each with 0-3 labels, a
     comment and a history entry, in plain SQL (INSERT ... SELECT generate_series: a
     million issues take about a minute); --reuse-db keeps a database seeded with as many;
  2. for each case (CSV; JSONL with comments and history) asks for an export of the whole
     project, then runs its job (transfers.services.export_run, what the Celery worker
     runs) in a process of its own, with the production settings (DEBUG off);
  3. meanwhile samples that process's resident memory (VmRSS in /proc) every 50 ms, with
     the progress the job reports (Export.written, read over another connection), and
     reads its peak (VmHWM) when it is done;
  4. prints, per case: issues, seconds, issues per second, file size, the worker's memory
     once Django is loaded (before the export), its peak, and its memory at 10%, 50% and
     90% of the issues written, so whether memory grows with the export can be read off.

--pgbouncer runs the job through a PgBouncer in transaction pooling mode
(DATABASE_POOLER=pgbouncer: no server-side cursors), as production may.

--import N then imports N issues (JSONL, a comment each) into a new project of the same
database with the import job (transfers.services.import_run, default batch and pause),
while another thread creates an issue in the big project every 50 ms through
issues.services.issue_create, as the API would: it prints the import's issues per second
and those creates' latency before and during the import.

Environment: BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres, the
server where the database is created), BENCH_DATABASE (default tracker_h28x_bench).
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DATABASE = os.environ.get("BENCH_DATABASE", "tracker_h28x_bench")
PROJECT = "BIG"
CASES = [("csv", []), ("jsonl", ["comments", "history"])]
TRIGGER = "issues_issue_search_vector_update"  # issues/migrations/0002_search_vector.py


def database_url(database: str = DATABASE) -> str:
    return urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{database}"))


def environment(tmp: Path, url: str, pooler: str = "") -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = tmp / "jwt.pem"
    if not key.exists():
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return {
        "PATH": os.environ.get("PATH", ""),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "HOME": str(tmp),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PRIVATE_KEY_PATH": str(key),
        "ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": url,
        "DATABASE_POOLER": pooler,
        "CELERY_BROKER_URL": "memory://",
        "TRANSFERS_ROOT": str(tmp / "transfers"),
        "LOG_LEVEL": "WARNING",
    }


def run_python(args: list[str], env: dict, capture: bool = False) -> str:
    done = subprocess.run(  # noqa: S603 (our own modules)
        [PYTHON, *args],
        cwd=ROOT,
        env=env,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return done.stdout


# -- in a child process, with Django ----------------------------------------------------------


def seed(issues: int) -> dict:
    """One project of `issues` issues (labels, a comment and a history entry each)."""
    from django.db import connection, transaction

    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        # Foreign keys checked per statement, so the trigger can be switched off and on.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "INSERT INTO accounts_user (password, is_superuser, first_name, last_name,"
            " is_staff, is_active, date_joined, username, email, display_name, role, type)"
            " SELECT '!', false, '', '', false, true, now(), 'user' || n, 'user' || n ||"
            " '@example.com', 'User ' || n, 'user', 'user' FROM generate_series(0, 19) n"
        )
        cursor.execute(
            "INSERT INTO projects_project (key, name, description, visibility, created_at,"
            " updated_at, last_issue_number, created_by_id) SELECT %s, 'Big', '', 'private',"
            " now(), now(), %s, min(id) FROM accounts_user RETURNING id",
            [PROJECT, issues],
        )
        project = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO projects_membership (role, created_at, user_id, project_id)"
            " SELECT CASE WHEN id = (SELECT min(id) FROM accounts_user) THEN 50 ELSE 30 END,"
            " now(), id, %s FROM accounts_user",
            [project],
        )
        cursor.execute(
            "INSERT INTO issues_label (name, color, description, created_at, project_id)"
            " SELECT 'label-' || n, '#1F883D', '', now(), %s FROM generate_series(1, 8) n",
            [project],
        )
        cursor.execute(f"ALTER TABLE issues_issue DISABLE TRIGGER {TRIGGER}")
        cursor.execute(
            """
            INSERT INTO issues_issue (number, title, description, type, priority, status,
                resolution, due_date, created_at, updated_at, resolved_at, closed_at,
                assignee_id, project_id, reporter_id)
            SELECT g, 'Issue ' || g || ': the export benchmark, a title of some words',
                repeat('A description line with words, "quotes", commas. ', 1 + g %% 8),
                (ARRAY['bug', 'feature', 'task'])[1 + g %% 3], 1 + g %% 5,
                CASE WHEN g %% 4 = 0 THEN 'closed' ELSE 'open' END,
                CASE WHEN g %% 4 = 0 THEN 'fixed' ELSE '' END,
                CASE WHEN g %% 10 = 0 THEN current_date END,
                now() - interval '1 second' * (%(n)s - g), now(), NULL,
                CASE WHEN g %% 4 = 0 THEN now() END,
                u.id, %(project)s, u.id
            FROM generate_series(1, %(n)s) g
            JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM accounts_user) u
              ON u.k = g %% 20
            """,
            {"n": issues, "project": project},
        )
        cursor.execute(f"ALTER TABLE issues_issue ENABLE TRIGGER {TRIGGER}")
        cursor.execute(
            "INSERT INTO issues_issue_labels (issue_id, label_id) SELECT i.id, l.id"
            " FROM issues_issue i JOIN issues_label l ON l.project_id = i.project_id"
            " WHERE (i.id * 31 + l.id * 17) % 20 < 3"
        )
        cursor.execute(
            "INSERT INTO comments_comment (body, created_at, updated_at, edited, author_id,"
            " issue_id) SELECT 'A comment on issue ' || number || ', with some words.',"
            " created_at, created_at, false, reporter_id, id FROM issues_issue"
        )
        cursor.execute(
            "INSERT INTO issues_issueevent (kind, from_status, to_status, resolution, field,"
            " created_at, actor_id, issue_id) SELECT 'created', '', 'open', '', '',"
            " created_at, reporter_id, id FROM issues_issue"
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CREATE TABLE bench_exports_seed (issues int)")
        cursor.execute("INSERT INTO bench_exports_seed VALUES (%s)", [issues])
    return {"issues": issues, "seconds": round(time.monotonic() - started, 1)}


def ask(format: str, include: list[str]) -> int:
    """An export of the whole project, as the API makes it; its id."""
    from projects.models import Project
    from transfers.models import Export
    from transfers.services import export_create

    Export.objects.all().delete()
    project = Project.objects.get(key=PROJECT)
    export = export_create(
        project=project,
        requested_by=project.created_by,
        format=format,
        filters={},
        include=include,
    )
    return export.pk


def _memory(field: str) -> int:
    """This process's VmRSS or VmHWM in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def work(export_id: int) -> dict:
    """The Celery task's work, timed; the memory once loaded and at the end."""
    from django.db import connection

    from transfers.models import Export
    from transfers.services import export_run

    connection.ensure_connection()
    print(json.dumps({"ready": _memory("VmRSS:")}), flush=True)
    sys.stdin.readline()  # the parent starts sampling, then says go
    started = time.monotonic()
    export_run(export_id=export_id)
    seconds = time.monotonic() - started
    export = Export.objects.get(pk=export_id)
    return {
        "status": export.status,
        "error": export.error,
        "issues": export.written,
        "comments": export.comments,
        "history": export.history,
        "bytes": export.size,
        "seconds": seconds,
        "peak_kib": _memory("VmHWM:"),
        "end_kib": _memory("VmRSS:"),
    }


def import_while_writing(issues: int) -> dict:
    """Import `issues` issues while another thread keeps creating issues; time both."""
    import statistics
    import threading

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection

    from issues.services import issue_create
    from projects.models import Membership, Project
    from transfers.services import import_create, import_run

    big = Project.objects.get(key=PROJECT)
    owner = big.created_by
    Project.objects.filter(key="IMP").delete()  # an earlier run's
    target = Project.objects.create(key="IMP", name="Imported")
    Membership.objects.create(project=target, user=owner, role=50)
    lines = [
        json.dumps(
            {
                "key": f"X-{n}",
                "title": f"Imported issue {n}",
                "description": "Some words. " * 20,
                "reporter": owner.username,
                "labels": ["imported"],
                "comments": [
                    {
                        "author": owner.username,
                        "body": "A comment.",
                        "created_at": "2024-01-01T00:00:00Z",
                    }
                ],
            }
        )
        for n in range(issues)
    ]
    upload = SimpleUploadedFile("x.jsonl", ("\n".join(lines) + "\n").encode())
    latencies, stop = {"before": [], "during": []}, threading.Event()
    phase = ["before"]

    def writer():
        try:
            while not stop.is_set():
                started = time.monotonic()
                issue_create(project=big, reporter=owner, title="Created during the import")
                latencies[phase[0]].append(time.monotonic() - started)
                time.sleep(0.05)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(3)
    phase[0] = "during"
    started = time.monotonic()
    imp = import_create(project=target, importer=owner, format="jsonl", upload=upload)
    checked = time.monotonic() - started
    while import_run(import_id=imp.pk):
        pass
    seconds = time.monotonic() - started
    stop.set()
    thread.join()
    imp.refresh_from_db()

    def ms(values, q):
        if not values:
            return None
        return round(
            1000 * (max(values) if q == 100 else statistics.quantiles(values, n=100)[q - 1]), 1
        )

    return {
        "status": imp.status,
        "error": imp.error,
        "created": imp.created,
        "check_seconds": round(checked, 1),
        "seconds": round(seconds, 1),
        "per_second": round(imp.created / seconds),
        "creates": {
            phase: {"n": len(v), "p50": ms(v, 50), "p95": ms(v, 95), "max": ms(v, 100)}
            for phase, v in latencies.items()
        },
    }


# -- the parent: measuring ------------------------------------------------------------------


def reset_database() -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def seeded() -> int | None:
    import psycopg

    try:
        with psycopg.connect(database_url()) as conn:
            return conn.execute("SELECT issues FROM bench_exports_seed").fetchone()[0]
    except psycopg.Error:
        return None


def measure(env: dict, export_id: int, total: int) -> dict:
    """Run the job in a child process, sampling its memory against its progress."""
    import psycopg

    child = subprocess.Popen(  # noqa: S603 (our own module)
        [PYTHON, __file__, "--work", str(export_id)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    ready = json.loads(child.stdout.readline())["ready"]
    samples = []  # (written, rss KiB)
    status = Path(f"/proc/{child.pid}/status")
    with psycopg.connect(database_url(), autocommit=True) as conn:
        child.stdin.write("go\n")
        child.stdin.flush()
        while child.poll() is None:
            try:
                rss = next(
                    int(line.split()[1])
                    for line in status.read_text().splitlines()
                    if line.startswith("VmRSS:")
                )
            except (OSError, StopIteration):
                break
            row = conn.execute(
                "SELECT written FROM transfers_export WHERE id = %s", [export_id]
            ).fetchone()
            samples.append((row[0] if row else 0, rss))
            time.sleep(0.05)
        result = json.loads(child.stdout.read().strip().splitlines()[-1])
    child.wait()

    def at(share: float) -> int | None:
        past = [rss for written, rss in samples if written >= share * total]
        return past[0] if past else None

    return {**result, "ready_kib": ready, "at": {p: at(p / 100) for p in (10, 50, 90)}}


def mib(kib) -> str:
    return "-" if kib is None else f"{kib / 1024:.0f}"


def print_exports(rows) -> None:
    header = (
        "| export | issues/s | seconds | file MiB | loaded | at 10% | at 50% | at 90% | peak |"
    )
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for format, include, r in rows:
        name = format + (f" + {', '.join(include)}" if include else "")
        print(
            f"| {name} | {r['issues'] / r['seconds']:,.0f} | {r['seconds']:.1f} | "
            f"{r['bytes'] / 2**20:.0f} | {mib(r['ready_kib'])} | {mib(r['at'][10])} | "
            f"{mib(r['at'][50])} | {mib(r['at'][90])} | {mib(r['peak_kib'])} |"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=100_000)
    parser.add_argument("--reuse-db", action="store_true")
    parser.add_argument("--pgbouncer", action="store_true")
    parser.add_argument("--import", dest="imports", type=int, default=0)
    parser.add_argument("--no-exports", action="store_true", help="only the import")
    parser.add_argument("--import-run", type=int, help=argparse.SUPPRESS)  # child
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)  # child: seed
    parser.add_argument("--ask", nargs=2, help=argparse.SUPPRESS)  # child: format, include
    parser.add_argument("--work", type=int, help=argparse.SUPPRESS)  # child: run the job
    args = parser.parse_args(argv)

    if args.seed or args.ask or args.work or args.import_run:
        import django

        django.setup()
        if args.import_run:
            print(json.dumps(import_while_writing(args.import_run)))
        elif args.seed:
            print(json.dumps(seed(args.seed)))
        elif args.ask:
            include = [i for i in args.ask[1].split(",") if i]
            print(json.dumps(ask(args.ask[0], include)))
        else:
            print(json.dumps(work(args.work)))
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-exports-") as tmp_name:
        tmp = Path(tmp_name)
        env = environment(tmp, database_url())
        if args.reuse_db and seeded() == args.issues:
            print(f"Reusing {DATABASE} ({args.issues:,} issues)")
        else:
            print(f"Creating {DATABASE}, migrating, seeding {args.issues:,} issues")
            reset_database()
            run_python(["manage.py", "migrate", "-v0"], env)
            done = json.loads(run_python([__file__, "--seed", str(args.issues)], env, True))
            print(f"  seeded in {done['seconds']} s")
        bouncer = None
        if args.pgbouncer:
            sys.path.insert(0, str(ROOT / "scripts"))
            from pgbouncer import PgBouncer  # a script, as bench/run.py uses it

            tmp.chmod(0o711)  # PgBouncer runs as postgres when this runs as root
            bouncer = PgBouncer(tmp / "pgbouncer", POSTGRES_URL, pool_size=2)
            bouncer.start()
            env = {**env, "DATABASE_URL": bouncer.url(DATABASE), "DATABASE_POOLER": "pgbouncer"}
        try:
            rows, imported = [], None
            for format, include in [] if args.no_exports else CASES:
                export_id = json.loads(
                    run_python([__file__, "--ask", format, ",".join(include)], env, True)
                )
                result = measure(env, export_id, args.issues)
                if result["status"] != "done":
                    sys.exit(f"The export failed: {result['error']}")
                rows.append((format, include, result))
            if args.imports:
                imported = json.loads(
                    run_python([__file__, "--import-run", str(args.imports)], env, True)
                )
        finally:
            if bouncer is not None:
                bouncer.stop()

    if rows:
        through = " through PgBouncer (transaction pooling)" if args.pgbouncer else ""
        print(f"\nExports of {args.issues:,} issues{through}; worker memory in MiB (RSS)\n")
        print_exports(rows)
    if imported:
        if imported["status"] != "done":
            sys.exit(f"The import failed: {imported['error']}")
        print(
            f"\nImport of {imported['created']:,} issues (a comment each): checked in "
            f"{imported['check_seconds']} s, done in {imported['seconds']} s, "
            f"{imported['per_second']:,} issues/s."
        )
        print(
            "Issue creates meanwhile, ms: "
            + "; ".join(
                f"{phase}: n={c['n']} p50={c['p50']} p95={c['p95']} max={c['max']}"
                for phase, c in imported["creates"].items()
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
