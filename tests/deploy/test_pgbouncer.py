"""PgBouncer in transaction pooling mode is a supported deployment (README, Deploy).

A throwaway PgBouncer (harness/pgbouncer.py) pools transactions to the suite's PostgreSQL
server with 2 server connections; the service is migrated and served by gunicorn as the
image runs it, DATABASE_URL pointing at PgBouncer and DATABASE_POOLER=pgbouncer, and a
user's flow runs against it from 8 threads at once, so every server connection serves many
clients' transactions in turn. Skipped when pgbouncer is not installed (.ci/run installs it).
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from harness import ROOT, pgbouncer
from harness.image import HTTPS, migrate_job_command, production_env
from harness.postgres import Database
from harness.server import Gunicorn

PASSWORD = "correct horse battery staple"
POOL_SIZE = 2
THREADS = 8
ISSUES = 24

needs_pgbouncer = pytest.mark.skipif(
    pgbouncer.binary() is None, reason="pgbouncer is not installed (apt-get install pgbouncer)"
)


def server_url(database: str = "postgres") -> str:
    """The suite's PostgreSQL server, as a URL of `database`."""
    params = connection.settings_dict
    user = params["USER"] or "postgres"
    password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
    netloc = f"{user}{password}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}"
    return urlunsplit(("postgres", netloc, f"/{database}", "", ""))


@pytest.fixture(scope="module")
def bouncer():
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    folder.chmod(0o755)  # PgBouncer runs as postgres when the tests run as root
    bouncer = pgbouncer.PgBouncer(folder / "pgbouncer", server_url(), pool_size=POOL_SIZE)
    bouncer.start()
    yield bouncer
    bouncer.close()


@pytest.fixture(scope="module")
def database(bouncer):
    """A database of its own on the suite's server, migrated through PgBouncer."""
    database = Database(
        server_url(), f"{connection.settings_dict['NAME']}_pgbouncer_{os.getpid()}"
    )
    database.create()
    yield database.name
    database.drop()


@pytest.fixture(scope="module")
def service(bouncer, database, tmp_path_factory):
    """gunicorn as the image runs it, its database reached through PgBouncer only."""
    tmp = tmp_path_factory.mktemp("service")
    env = production_env(tmp, database_url=bouncer.url(database), redis_url=settings.REDIS_URL)
    env.update(
        DATABASE_POOLER="pgbouncer",
        THROTTLE_REGISTER="1000/min",
        THROTTLE_LOGIN="1000/min",
        LOG_LEVEL="WARNING",
    )
    done = subprocess.run(  # noqa: S603 (the migration Job's command)
        migrate_job_command(), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr + bouncer.tail()
    server = Gunicorn(env, tmp, "gunicorn")
    try:
        assert server.wait_until_up(60), server.tail(100)
        yield server
    finally:
        server.stop()


def call(server, method, path, token=None, body=None, expect=200):
    # A generous timeout: registering and logging in hash passwords (Argon2) on a busy CI box.
    answer = server.request(method, path, token, body, HTTPS, timeout=120)
    assert answer.status == expect, f"{method} {path}: {answer.status} {answer.raw[:300]!r}"
    return answer.body


def sign_up(server, username: str) -> str:
    account = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    call(server, "POST", "/api/v1/auth/register", body=account, expect=201)
    login = {"username": username, "password": PASSWORD}
    return call(server, "POST", "/api/v1/auth/login", body=login)["access_token"]


def walk(server, token, params: dict) -> list[dict]:
    """Every row of an issue list, following the cursor's `next` links."""
    rows, path = [], f"/api/v1/issues?{urlencode({**params, 'cursor': ''})}"
    while path:
        page = call(server, "GET", path, token)
        rows += page["results"]
        path = page["next"] and urlsplit(page["next"])._replace(scheme="", netloc="").geturl()
    return rows


def server_connections(database: str) -> int:
    with psycopg.connect(server_url(), autocommit=True) as conn:
        sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
        return conn.execute(sql, [database]).fetchone()[0]


@pytest.mark.postgres
@needs_pgbouncer
def test_a_users_flow_runs_through_pgbouncer_in_transaction_mode(service, database):
    token = sign_up(service, "pooled")
    body = {"key": "POOL", "name": "Pooled", "visibility": "private"}
    call(service, "POST", "/api/v1/projects", token, body, expect=201)
    label = call(service, "POST", "/api/v1/projects/POOL/labels", token, {"name": "db"}, 201)

    def create(n: int) -> str:
        issue = {
            "title": f"Pooled issue {n}" + (" with a checkpoint" if n % 3 == 0 else ""),
            "assignee": "pooled",
            "priority": ["low", "medium", "high"][n % 3],
            "labels": [label["name"]] if n % 2 else [],
        }
        return call(service, "POST", "/api/v1/projects/POOL/issues", token, issue, 201)["key"]

    def work(key: str) -> None:
        call(service, "POST", f"/api/v1/issues/{key}/status", token, {"status": "in_progress"})
        comment = {"body": f"Started {key}"}
        call(service, "POST", f"/api/v1/issues/{key}/comments", token, comment, 201)
        call(service, "GET", f"/api/v1/issues/{key}", token)

    peak = []
    stop = threading.Event()

    def watch() -> None:  # the server connections in use, while 8 clients work
        while not stop.wait(0.05):
            peak.append(server_connections(database))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with ThreadPoolExecutor(THREADS) as pool:
        keys = list(pool.map(create, range(ISSUES)))
        list(pool.map(work, keys[::2]))
        # Reads from every thread, more times than psycopg's prepare threshold (5).
        lists = [f"/api/v1/issues?project=POOL&page_size=5&page={p}" for p in (1, 2, 3)] * 4
        pages = list(pool.map(lambda path: call(service, "GET", path, token), lists))
    stop.set()
    watcher.join()

    assert sorted(keys) == sorted(f"POOL-{n}" for n in range(1, ISSUES + 1))
    assert all(page["count"] == ISSUES and len(page["results"]) == 5 for page in pages)
    assert 0 < max(peak) <= POOL_SIZE, peak
    started = walk(service, token, {"project": "POOL", "status": "in_progress", "page_size": 5})
    assert sorted(row["key"] for row in started) == sorted(keys[::2])
    filtered = walk(
        service,
        token,
        {"project": "POOL", "label": "db", "assignee": "me", "ordering": "-priority"},
    )
    assert len(filtered) == ISSUES // 2
    assert [row["priority"] for row in filtered] == sorted(
        (row["priority"] for row in filtered), key=["low", "medium", "high"].index, reverse=True
    )
    found = call(service, "GET", "/api/v1/issues?search=checkpoint&page_size=100", token)
    assert found["count"] == ISSUES // 3
    comments = call(service, "GET", f"/api/v1/issues/{keys[0]}/comments", token)
    assert [c["body"] for c in comments["results"]] == [f"Started {keys[0]}"]
    assert call(service, "GET", "/ready")["checks"]["database"] == "ok"


@pytest.mark.postgres
@needs_pgbouncer
def test_prepared_statements_would_break_under_transaction_pooling(bouncer, database):
    """Why the setting turns them off: two clients' statements share one server connection."""
    url = bouncer.url(database)
    with (
        psycopg.connect(url, autocommit=True, prepare_threshold=0) as first,
        psycopg.connect(url, autocommit=True, prepare_threshold=0) as second,
    ):
        first.execute("SELECT 1").fetchone()
        try:
            second.execute("SELECT 1").fetchone()
        except psycopg.errors.DuplicatePreparedStatement:
            return
    pytest.skip("this PgBouncer keeps prepared statements per client (max_prepared_statements)")


@pytest.mark.parametrize(
    "pooler, expected",
    [("", {"cursors_off": False}), ("pgbouncer", {"cursors_off": True})],
)
def test_the_pooler_setting_turns_off_what_outlives_a_transaction(pooler, expected):
    code = (
        "from django.conf import settings; import json; d = settings.DATABASES['default'];"
        "print(json.dumps({'cursors_off': d.get('DISABLE_SERVER_SIDE_CURSORS', False),"
        " 'prepare': d.get('OPTIONS', {}).get('prepare_threshold', 'unset')}))"
    )
    done = settings_subprocess(pooler, code)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["cursors_off"] is expected["cursors_off"]
    if pooler:
        assert got["prepare"] is None


def test_an_unknown_pooler_is_refused():
    done = settings_subprocess("pgpool", "import django.conf as c; c.settings.DATABASES")
    assert done.returncode != 0
    assert "DATABASE_POOLER is blank or pgbouncer, not 'pgpool'" in done.stderr


def settings_subprocess(pooler: str, code: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": server_url("unused"),
        "DATABASE_POOLER": pooler,
    }
    return subprocess.run(  # noqa: S603 (our interpreter)
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
