#!/usr/bin/env python
"""Load and fault tests of the service as the image runs it, on loopback only.

    .venv/bin/python scripts/resilience.py all --duration 20      # what CI runs
    .venv/bin/python scripts/resilience.py load --duration 60     # the operator's run
    .venv/bin/python scripts/resilience.py pg-restart redis-stop  # some scenarios

Everything runs in a temporary folder and is stopped at the end: a throwaway PostgreSQL
cluster (initdb/pg_ctl from PG_BIN, default the newest /usr/lib/postgresql/*/bin; as root
it runs as the `postgres` user), a redis-server, both on free ports, and gunicorn started
with the Dockerfile's CMD and production settings, as scripts/smoke_production.py does.
The shared PostgreSQL and Redis are not touched.

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

--pgbouncer puts a PgBouncer in transaction pooling mode (scripts/pgbouncer.py, 4 server
connections) between gunicorn and PostgreSQL, with DATABASE_POOLER=pgbouncer, as README's
"Deploy" describes; `load --pgbouncer` is what .ci/run runs of it.
"""

import argparse
import contextlib
import http.client
import http.server
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pgbouncer import PgBouncer  # a sibling script, as below
from smoke_production import (  # a sibling script, not a package
    HTTPS,
    PASSWORD,
    ROOT,
    free_port,
    image_command,
    migrate_job_command,
    production_env,
    write_private_key,
)

SCENARIOS = ("load", "pg-restart", "redis-stop", "worker-kill", "webhooks", "broker-restarts")
RECOVERY_PROMISE = 5.0  # seconds after the database is back
WORKERS, THREADS = 2, 4  # gunicorn.conf.py's defaults, set explicitly
# A claimed delivery whose worker died is retried when its lease ends (webhooks.services:
# connect + read timeout + 60 s), so the webhooks scenario waits up to this long.
WEBHOOK_WAIT = 120.0

results: list[tuple[bool, str, str]] = []


def check(name: str, ok, detail: str = "") -> bool:
    results.append((bool(ok), name, detail))
    print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"  ({detail})" if detail else ""), flush=True)
    return bool(ok)


def log(message: str) -> None:
    print(f"      {message}", flush=True)


def postgres_bin() -> Path:
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    if not found:
        sys.exit("No PostgreSQL binaries: set PG_BIN to the folder holding initdb and pg_ctl.")
    return found[0]


# -- the service's dependencies, started here ------------------------------------------


WAIT = ("-w", "-t", "60")  # pg_ctl: until the server is up (or down), at most 60 s


class Postgres:
    """A throwaway cluster in `folder`, on a free port, with fsync on (durability counts)."""

    def __init__(self, folder: Path):
        self.bin = postgres_bin()
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.running = False
        folder.mkdir()
        if os.geteuid() == 0:  # initdb refuses root
            shutil.chown(folder, "postgres", "postgres")
        self._run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync")

    def _run(self, tool: str, *args, timeout: float = 60) -> None:
        command = [str(self.bin / tool), *map(str, args)]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(  # noqa: S603 (our own tools)
            command, capture_output=True, text=True, timeout=timeout, cwd=self.folder
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c max_connections=100"
            f" -c unix_socket_directories={self.folder}"
        )
        log_file = self.folder / "log"
        self._run("pg_ctl", "-D", self.data, "-l", log_file, "-o", options, *WAIT, "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", self.data, "-m", mode, *WAIT, "stop")
        self.running = False

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def close(self) -> None:
        if self.running:
            try:
                self.stop("immediate")
            except Exception as e:  # cleanup goes on
                print(f"      could not stop PostgreSQL: {e}", flush=True)


class Redis:
    """redis-server on a free port, in memory only."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.folder = folder
        self.process = None

    def start(self) -> None:
        command = [
            *f"redis-server --port {self.port} --bind 127.0.0.1 --appendonly no".split(),
            *("--daemonize", "no", "--save", ""),  # in memory only
        ]
        with (self.folder / "redis.log").open("a") as out:
            self.process = subprocess.Popen(  # noqa: S603
                command, stdout=out, stderr=out, start_new_session=True
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class Gunicorn:
    """The image's CMD in its own process group; stdout/stderr kept in files."""

    def __init__(self, env: dict[str, str], folder: Path):
        self.port = free_port()
        env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "PROMETHEUS_MULTIPROC_DIR": str(folder / "prometheus"),
        }
        self.stderr_path = folder / "gunicorn.stderr"
        with (folder / "gunicorn.stdout").open("w") as out, self.stderr_path.open("w") as err:
            self.process = subprocess.Popen(  # noqa: S603 (the Dockerfile's CMD)
                image_command(),
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    def workers(self) -> set[int]:
        pid = self.process.pid
        try:
            return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
        except OSError:
            return set()

    def wait_until_up(self, seconds: float = 60) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            if len(self.workers()) == WORKERS and request(self.port, "GET", "/health").ok:
                return True
            time.sleep(0.2)
        return False

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=40)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # anything left of the group
        self.process.wait()


class Receiver:
    """A webhook receiver on loopback: answers 200 to every POST (after `delay` seconds; with
    `fail_every`, 503 to the first attempt of every so many messages) and keeps what it
    took."""

    def __init__(self, delay: float = 0.0, fail_every: int = 0):
        self.received: list[tuple[dict, bytes]] = []  # (headers, body) of each POST taken
        self.lock = threading.Lock()
        self.attempted: set[str] = set()  # webhook-ids
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(delay)
                message_id = self.headers.get("webhook-id", "")
                with receiver.lock:
                    first = message_id not in receiver.attempted
                    receiver.attempted.add(message_id)
                    refused = first and fail_every and len(receiver.attempted) % fail_every == 0
                    if not refused:
                        receiver.received.append((dict(self.headers), body))
                self.send_response(503 if refused else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def messages(self) -> list[tuple[dict, bytes]]:
        with self.lock:
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class CeleryProcess:
    """`celery -A config <args>` in its own process group, its output in a file."""

    def __init__(self, env: dict[str, str], folder: Path, name: str, *args: str):
        self.log_path = folder / f"{name}.log"
        with self.log_path.open("w") as out:
            self.process = subprocess.Popen(  # noqa: S603 (our own worker)
                [sys.executable, "-m", "celery", "-A", "config", *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until(self, text: str, seconds: float = 60) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            if text in self.log_path.read_text(errors="replace"):
                return True
            time.sleep(0.2)
        return False

    def kill(self) -> None:
        """SIGKILL to the whole group (the pool's children too), as a container dies."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        self.kill()


# -- HTTP --------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int | None  # None: no HTTP answer (connection refused or reset)
    body: object = None
    headers: dict = field(default_factory=dict)
    error: str = ""
    started: float = 0.0
    ended: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def code(self) -> str:
        return self.body.get("code", "") if isinstance(self.body, dict) else ""

    @property
    def problem_json(self) -> bool:
        return self.headers.get("content-type") == "application/problem+json" and bool(self.code)


def request(port, method, path, token=None, body=None, headers=None, timeout=30) -> Answer:
    """One request on its own connection: a killed worker costs only what it was serving."""
    headers = {**HTTPS, "Connection": "close", **(headers or {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body)
        headers["Content-Type"] = "application/json"
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
    except (OSError, http.client.HTTPException) as e:
        return Answer(None, error=type(e).__name__, started=started, ended=time.monotonic())
    finally:
        conn.close()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw[:200]
    return Answer(response.status, parsed, answer_headers, "", started, time.monotonic())


# -- the workload ------------------------------------------------------------------------


@dataclass
class Actor:
    username: str
    token: str


@dataclass
class Record:
    op: str
    answer: Answer
    client: int


class Client(threading.Thread):
    """One user working in the scenario's project until told to stop."""

    WEIGHTS = {"list": 25, "search": 5, "detail": 20, "create": 20, "comment": 15, "move": 15}

    def __init__(self, index, actor, port, project, stop, seed):
        super().__init__(daemon=True, name=f"client-{index}")
        self.index, self.actor, self.port, self.project = index, actor, port, project
        self.stop_event = stop
        self.random = random.Random(seed)  # noqa: S311 (a workload, not a secret)
        self.records: list[Record] = []
        self.created: dict[str, str] = {}  # title -> key, each acknowledged with a 201
        self.comments: list[str] = []  # bodies acknowledged with a 201
        self.moves = 0  # transitions acknowledged with a 200
        self.status: dict[str, str] = {}  # the client's issues and their last known status
        self.sequence = 0

    def call(self, op, method, path, body=None, headers=None) -> Answer:
        answer = request(self.port, method, path, self.actor.token, body, headers)
        self.records.append(Record(op, answer, self.index))
        return answer

    def run(self):
        ops, weights = zip(*self.WEIGHTS.items(), strict=True)
        while not self.stop_event.is_set():
            op = self.random.choices(ops, weights)[0] if self.status else "create"
            getattr(self, f"do_{op}")()

    def do_list(self):
        order = self.random.choice(["-updated_at", "number", "-priority"])
        self.call("list", "GET", f"/api/v1/projects/{self.project}/issues?ordering={order}")

    def do_search(self):
        self.call("list", "GET", f"/api/v1/issues?project={self.project}&search=client")

    def do_detail(self):
        key = self.random.choice(list(self.status))
        self.call("detail", "GET", f"/api/v1/issues/{key}")

    def do_create(self):
        self.sequence += 1
        title = f"{self.project} client {self.index} issue {self.sequence}"
        body = {"title": title, "assignee": self.actor.username}
        answer = self.call("create", "POST", f"/api/v1/projects/{self.project}/issues", body)
        if answer.status == 201:
            self.created[title] = answer.body["key"]
            self.status[answer.body["key"]] = answer.body["status"]

    def do_comment(self):
        self.sequence += 1
        key = self.random.choice(list(self.status))
        text = f"{self.project} client {self.index} comment {self.sequence}"
        answer = self.call("comment", "POST", f"/api/v1/issues/{key}/comments", {"body": text})
        if answer.status == 201:
            self.comments.append(text)

    def do_move(self):
        key = self.random.choice(list(self.status))
        target = "in_progress" if self.status[key] == "open" else "open"
        answer = self.call("move", "POST", f"/api/v1/issues/{key}/status", {"status": target})
        if answer.ok:
            self.moves += 1
            self.status[key] = answer.body["status"]
        elif answer.status == 409 and "current_status" in (answer.body or {}):
            # A move whose answer was lost may have happened: follow the stored status.
            self.status[key] = answer.body["current_status"]


@dataclass
class Run:
    """What a scenario's clients did, for the checks and the figures."""

    name: str
    project: str
    seconds: float
    clients: list[Client]
    ready: list[Answer]  # /ready, polled throughout
    notes: list[str] = field(default_factory=list)
    probe_created: dict[str, str] = field(default_factory=dict)  # created beside the clients

    @property
    def records(self) -> list[Record]:
        return [record for client in self.clients for record in client.records]

    def statuses(self) -> Counter:
        return Counter(
            "error" if r.answer.status is None else f"{r.answer.status // 100}xx"
            for r in self.records
        )

    def unknown(self, op: str) -> int:
        """Writes whose answer did not say whether they happened."""
        return sum(
            1
            for r in self.records
            if r.op == op and (r.answer.status is None or r.answer.status >= 500)
        )


BULK_USERS = """
import json
from accounts.models import User
from accounts.services import token_pair_for_user
tokens = {}
for name in %(names)r:
    user = User(username=name, email=name + "@example.com")
    user.set_unusable_password()
    user.save()
    tokens[name] = str(token_pair_for_user(user=user).access)
print(json.dumps(tokens))
"""


class Stack:
    """PostgreSQL, Redis and gunicorn for the whole run, plus the users the clients act as."""

    def __init__(self, folder: Path, clients: int, pgbouncer: bool = False):
        self.folder = folder
        self.postgres = Postgres(folder / "postgres")
        self.redis = Redis(folder)
        self.pgbouncer = None
        if pgbouncer:
            self.pgbouncer = PgBouncer(folder / "pgbouncer", self.postgres.url())
        self.server = None
        self.owner = None
        self.actors: list[Actor] = []
        self.client_count = clients

    def start(self) -> None:
        self.started = time.monotonic()
        self.postgres.start()
        with psycopg.connect(self.postgres.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE tracker")
        self.redis.start()
        database_url = self.postgres.url("tracker")
        if self.pgbouncer:
            self.pgbouncer.start()
            database_url = self.pgbouncer.url("tracker")
        env = production_env(self.folder, database_url, self.key())
        if self.pgbouncer:
            env["DATABASE_POOLER"] = "pgbouncer"
        env.update(
            REDIS_URL=self.redis.url,
            WEB_CONCURRENCY=str(WORKERS),
            GUNICORN_THREADS=str(THREADS),
            ACCESS_TOKEN_LIFETIME="7200",  # noqa: S106 (seconds, not a secret)
            THROTTLE_USER="1000000/hour",
            THROTTLE_LOGIN="10000/min",
            THROTTLE_REGISTER="10000/min",
            THROTTLE_REFRESH="3/min",  # only the redis-stop scenario's throttle probe refreshes
            LOG_LEVEL="WARNING",
            # The webhooks scenario's receiver listens on loopback.
            WEBHOOK_ALLOW_PRIVATE_NETWORKS="true",
        )
        self.env = env
        (self.folder / "static").mkdir()
        done = subprocess.run(  # noqa: S603 (the migration Job's command)
            migrate_job_command(), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            raise RuntimeError(f"migrate failed: {done.stdout}{done.stderr}")
        log(f"migrated at {time.monotonic() - self.started:.1f} s")
        log(f"gunicorn ({WORKERS} workers x {THREADS} threads): {' '.join(image_command())}")
        self.server = Gunicorn(env, self.folder)
        if not self.server.wait_until_up():
            raise RuntimeError("gunicorn did not start:\n" + self.tail())
        self.owner = self.sign_up("owner")
        self.actors = self.bulk_users([f"client{i}" for i in range(self.client_count)], env)

    def key(self) -> Path:
        return write_private_key(self.folder)

    def bulk_users(self, names: list[str], env: dict[str, str]) -> list[Actor]:
        """Users with tokens, made in one process: signing each up through the API would
        spend most of the run hashing passwords (Argon2)."""
        done = subprocess.run(  # noqa: S603 (our own management command)
            [sys.executable, "manage.py", "shell", "-c", BULK_USERS % {"names": names}],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"creating users failed: {done.stdout}{done.stderr}")
        tokens = json.loads(done.stdout.strip().splitlines()[-1])
        return [Actor(name, tokens[name]) for name in names]

    def sign_up(self, name: str) -> Actor:
        """A user registered and logged in through the API."""
        username = f"load-{name}"
        account = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
        answer = self.call("POST", "/api/v1/auth/register", body=account)
        if answer.status != 201:
            raise RuntimeError(f"register {username}: {answer.status} {answer.body}")
        login = {"username": username, "password": PASSWORD}
        answer = self.call("POST", "/api/v1/auth/login", body=login)
        if answer.status != 200:
            raise RuntimeError(f"login {username}: {answer.status} {answer.body}")
        return Actor(username, answer.body["access_token"])

    def call(self, method, path, token=None, body=None, headers=None) -> Answer:
        return request(self.server.port, method, path, token, body, headers)

    def new_project(self, key: str) -> None:
        body = {"key": key, "name": f"Resilience {key}", "visibility": "private"}
        answer = self.call("POST", "/api/v1/projects", self.owner.token, body)
        if answer.status != 201:
            raise RuntimeError(f"create project {key}: {answer.status} {answer.body}")
        for actor in self.actors:
            member = {"username": actor.username, "role": "developer"}
            answer = self.call("POST", f"/api/v1/projects/{key}/members", self.owner.token, member)
            if answer.status != 201:
                raise RuntimeError(f"add member: {answer.status} {answer.body}")

    def drive(
        self, name: str, project: str, seconds: float, fault=None, prepare=None, clients=None
    ) -> Run:
        """Run the clients (all, or the first `clients`) for `seconds`, with `fault(run, t0)`
        in a thread beside them (and `prepare(project)` once the project is there, before
        the clients start)."""
        self.new_project(project)
        if prepare is not None:
            prepare(project)
        stop = threading.Event()
        clients = [
            Client(i, actor, self.server.port, project, stop, seed=f"{name}-{i}")
            for i, actor in enumerate(self.actors[:clients])
        ]
        run = Run(name, project, seconds, clients, ready=[])
        prober = threading.Thread(target=self.probe_ready, args=(run, stop), daemon=True)
        t0 = time.monotonic()
        for client in clients:
            client.start()
        prober.start()
        failure = []
        if fault is not None:

            def inject():
                try:
                    fault(run, t0)
                except Exception as e:  # reported as a failed check
                    failure.append(e)

            injector = threading.Thread(target=inject, daemon=True)
            injector.start()
        time.sleep(max(0.0, t0 + seconds - time.monotonic()))
        if fault is not None:
            injector.join(timeout=120)
            check(f"{name}: the fault ran to its end", not failure, repr(failure))
        stop.set()
        for thread in [*clients, prober]:
            thread.join(timeout=60)
        run.seconds = time.monotonic() - t0
        return run

    def probe_ready(self, run: Run, stop: threading.Event) -> None:
        while not stop.is_set():
            run.ready.append(request(self.server.port, "GET", "/ready"))
            stop.wait(0.25)

    def tail(self, lines: int = 20) -> str:
        if self.server is None or not self.server.stderr_path.exists():
            return ""
        return "\n".join(self.server.stderr_path.read_text().splitlines()[-lines:])

    def close(self) -> None:
        for step in (
            lambda: self.server and self.server.close(),
            lambda: self.pgbouncer and self.pgbouncer.close(),
            self.redis.stop,
            self.postgres.close,
        ):
            try:
                step()
            except Exception as e:  # clean up the rest regardless
                print(f"      cleanup: {e!r}", flush=True)


# -- what every scenario promises about the data -----------------------------------------


def check_writes(stack: Stack, run: Run) -> dict:
    """Compare what clients were told with what is stored; check nothing is half-written."""
    name, key = run.name, run.project
    with psycopg.connect(stack.postgres.url("tracker")) as conn:
        project_id, last_number = conn.execute(
            "SELECT id, last_issue_number FROM projects_project WHERE key = %s", [key]
        ).fetchone()
        titles = Counter(
            title
            for (title,) in conn.execute(
                "SELECT title FROM issues_issue WHERE project_id = %s", [project_id]
            )
        )
        numbers = sorted(
            n
            for (n,) in conn.execute(
                "SELECT number FROM issues_issue WHERE project_id = %s", [project_id]
            )
        )
        bodies = Counter(
            body
            for (body,) in conn.execute(
                "SELECT c.body FROM comments_comment c JOIN issues_issue i ON i.id = c.issue_id"
                " WHERE i.project_id = %s",
                [project_id],
            )
        )
        events = dict(
            conn.execute(
                "SELECT e.kind, count(*) FROM issues_issueevent e"
                " JOIN issues_issue i ON i.id = e.issue_id WHERE i.project_id = %s"
                " GROUP BY e.kind",
                [project_id],
            ).fetchall()
        )
        without_created = conn.execute(
            "SELECT count(*) FROM issues_issue i WHERE i.project_id = %s AND 1 <> ("
            " SELECT count(*) FROM issues_issueevent e"
            " WHERE e.issue_id = i.id AND e.kind = 'created')",
            [project_id],
        ).fetchone()[0]
        without_event = conn.execute(
            "SELECT count(*) FROM comments_comment c JOIN issues_issue i ON i.id = c.issue_id"
            " WHERE i.project_id = %s AND 1 <> (SELECT count(*) FROM issues_issueevent e"
            " WHERE e.comment_id = c.id AND e.kind = 'commented')",
            [project_id],
        ).fetchone()[0]
        wrong_status = conn.execute(
            "SELECT count(*) FROM issues_issue i WHERE i.project_id = %s AND i.status <> COALESCE("
            " (SELECT e.to_status FROM issues_issueevent e WHERE e.issue_id = i.id"
            "  AND e.kind IN ('created', 'transitioned') ORDER BY e.id DESC"
            "  LIMIT 1), 'open')",
            [project_id],
        ).fetchone()[0]

    created = {t: k for c in run.clients for t, k in c.created.items()} | run.probe_created
    comments = [b for c in run.clients for b in c.comments]
    moves = sum(c.moves for c in run.clients)
    figures = {
        "creates": (len(created), sum(titles.values())),
        "comments": (len(comments), sum(bodies.values())),
        "moves": (moves, events.get("transitioned", 0)),
    }
    missing = [t for t in created if titles[t] != 1]
    check(
        f"{name}: every acknowledged create is stored exactly once",
        created and not missing,
        f"{len(created)} acknowledged, {sum(titles.values())} stored, "
        f"{len(missing)} missing or doubled",
    )
    extra = sum(titles.values()) - len(created)
    check(
        f"{name}: stored creates beyond those acknowledged had their answer lost",
        0 <= extra <= run.unknown("create"),
        f"{extra} extra, {run.unknown('create')} unanswered",
    )
    lost = [b for b in comments if bodies[b] != 1]
    extra = sum(bodies.values()) - len(comments)
    check(
        f"{name}: every acknowledged comment is stored exactly once",
        not lost and 0 <= extra <= run.unknown("comment"),
        f"{len(comments)} acknowledged, {sum(bodies.values())} stored",
    )
    extra = events.get("transitioned", 0) - moves
    check(
        f"{name}: every acknowledged transition is recorded",
        0 <= extra <= run.unknown("move"),
        f"{moves} acknowledged, {events.get('transitioned', 0)} recorded",
    )
    check(
        f"{name}: no partial writes (numbers gapless, one event per issue and comment, "
        "status matches history)",
        numbers == list(range(1, len(numbers) + 1))
        and last_number == len(numbers)
        and without_created == 0
        and without_event == 0
        and wrong_status == 0,
        f"{len(numbers)} issues, last number {last_number}, {without_created} without their "
        f"created event, {without_event} comments without theirs, {wrong_status} off-history",
    )
    return figures


def server_errors(run: Run, since: float = 0.0) -> list[Record]:
    return [
        r
        for r in run.records
        if r.answer.ended >= since and (r.answer.status is None or r.answer.status >= 500)
    ]


# -- scenarios -----------------------------------------------------------------------------


def scenario_load(stack: Stack, args) -> Run:
    run = stack.drive("load", "LOAD", args.duration)
    bad = server_errors(run)
    check(
        "load: zero 5xx and zero failed connections",
        run.records and not bad,
        f"{len(run.records)} requests, {len(bad)} failed: {describe(bad)}",
    )
    return run


def scenario_pg_restart(stack: Stack, args) -> Run:
    marks = {}

    def fault(run: Run, t0: float) -> None:
        time.sleep(args.duration * 0.3)
        # The outage is the window from pg_ctl's return (server gone) to the restart's call
        # (server not yet back): a probe that overlaps either call may fairly see the database.
        stack.postgres.stop("immediate")
        marks["down"] = time.monotonic()
        log(f"PostgreSQL stopped (immediate) at {marks['down'] - t0:.1f} s")
        time.sleep(args.outage)
        marks["restarting"] = time.monotonic()
        stack.postgres.start()
        marks["back"] = time.monotonic()
        log(f"PostgreSQL accepting connections again at {marks['back'] - t0:.1f} s")

    run = stack.drive("pg-restart", "PGRS", args.duration, fault)
    if "back" not in marks:
        return run
    down, restarting, back = marks["down"], marks["restarting"], marks["back"]
    during = [r for r in run.records if down <= r.answer.started and r.answer.ended <= restarting]
    unavailable = [r for r in during if r.answer.status == 503]
    check(
        "pg-restart: during the outage the API answers JSON 503 database_unavailable",
        unavailable
        and all(
            r.answer.problem_json
            and r.answer.code == "database_unavailable"
            and r.answer.headers.get("retry-after")
            for r in unavailable
        ),
        f"{len(during)} requests during the outage, {len(unavailable)} answered 503",
    )
    wrong = [
        r
        for r in server_errors(run)
        if r.answer.status != 503 or r.answer.code != "database_unavailable"
    ]
    check(
        "pg-restart: no 500, no HTML error, no failed connection at any time",
        not wrong,
        describe(wrong),
    )
    ready_down = [a for a in run.ready if down <= a.started and a.ended <= restarting]
    check(
        "pg-restart: /ready is 503 naming the database during the outage",
        ready_down
        and all(
            a.status == 503 and "database" in (a.body or {}).get("failed", []) for a in ready_down
        ),
        f"{len(ready_down)} probes, statuses {sorted(Counter(a.status for a in ready_down))}",
    )
    after = [r for r in run.records if r.answer.started >= back]
    last_bad = max((r.answer.ended for r in server_errors(run, since=back)), default=back)
    first_ok = min((r.answer.ended for r in after if r.answer.ok), default=None)
    recovery = max(last_bad, first_ok or back) - back
    ready_ok = min((a.ended for a in run.ready if a.started >= back and a.ok), default=None)
    run.notes.append(f"recovered {recovery:.2f} s after the database returned")
    check(
        f"pg-restart: requests succeed again within {RECOVERY_PROMISE:.0f} s of the database's "
        "return, same gunicorn",
        first_ok is not None
        and recovery <= RECOVERY_PROMISE
        and stack.server.process.poll() is None,
        f"first success after {(first_ok or back) - back:.2f} s, last failure after "
        f"{last_bad - back:.2f} s, /ready 200 after "
        f"{(ready_ok - back) if ready_ok else float('nan'):.2f} s",
    )
    return run


def scenario_redis_stop(stack: Stack, args) -> Run:
    # A logged-out user: their access token is on the blocklist, cached in Redis.
    revoked = stack.sign_up("revoked")
    keep = stack.call(
        "POST", "/api/v1/auth/login", body={"username": revoked.username, "password": PASSWORD}
    )
    answer = stack.call(
        "POST",
        "/api/v1/auth/logout",
        revoked.token,
        {"refresh_token": keep.body["refresh_token"]},
    )
    check("redis-stop: logout before the outage", answer.status == 204, str(answer.status))
    still_valid = keep.body["access_token"]  # another session of the same user, not revoked

    # The throttle works while Redis does: the 4th refresh from one address in a minute is 429.
    def refreshes(count: int, address: str) -> list[int]:
        """Refreshes with a bad token from one client address (the throttle's key)."""
        headers = {"X-Forwarded-For": address}
        body = {"refresh_token": "x"}
        return [
            stack.call("POST", "/api/v1/auth/refresh", body=body, headers=headers).status
            for _ in range(count)
        ]

    limited = refreshes(4, "198.51.100.1")
    check("redis-stop: with Redis the refresh throttle limits", limited[-1] == 429, str(limited))
    probes = {}

    def fault(run: Run, t0: float) -> None:
        time.sleep(args.duration * 0.3)
        down = time.monotonic()
        stack.redis.stop()
        log(f"Redis stopped at {down - t0:.1f} s")
        time.sleep(0.5)
        probes["ready"] = stack.call("GET", "/ready")
        probes["revoked"] = stack.call("GET", "/api/v1/me", revoked.token)
        probes["valid"] = stack.call("GET", "/api/v1/me", still_valid)
        probes["refreshes"] = refreshes(6, "198.51.100.2")
        body = {"title": "Made while Redis was down"}
        probes["idempotent"] = answer = stack.call(
            "POST",
            f"/api/v1/projects/{run.project}/issues",
            stack.actors[0].token,
            body,
            {"Idempotency-Key": "redis-down"},
        )
        if answer.status == 201:
            run.probe_created[body["title"]] = answer.body["key"]
        time.sleep(max(0.0, down + max(args.outage, args.duration * 0.4) - time.monotonic()))
        stack.redis.start()
        back = time.monotonic()
        log(f"Redis back at {back - t0:.1f} s")
        deadline = back + RECOVERY_PROMISE
        while time.monotonic() < deadline:
            probes["ready_after"] = stack.call("GET", "/ready")
            if probes["ready_after"].ok:
                break
            time.sleep(0.2)
        probes["ready_after_s"] = time.monotonic() - back
        probes["revoked_after"] = stack.call("GET", "/api/v1/me", revoked.token)

    run = stack.drive("redis-stop", "RDIS", args.duration, fault)
    bad = server_errors(run)
    check(
        "redis-stop: the API keeps answering (zero 5xx, zero failed connections)",
        run.records and not bad,
        f"{len(run.records)} requests, {len(bad)} failed: {describe(bad)}",
    )
    if "ready" not in probes:
        return run
    ready = probes["ready"]
    check(
        "redis-stop: /ready is 503 naming the cache",
        ready.status == 503 and (ready.body or {}).get("failed") == ["cache"],
        f"{ready.status} {ready.body}",
    )
    check(
        "redis-stop: a logged-out token stays refused (blocklist answered by the database)",
        probes["revoked"].status == 401 and probes["revoked"].code == "token_revoked",
        f"{probes['revoked'].status} {probes['revoked'].code}",
    )
    check(
        "redis-stop: the same user's other token still works",
        probes["valid"].status == 200,
        str(probes["valid"].status),
    )
    check(
        "redis-stop: throttles fail open (6 refreshes from one address, none 429)",
        probes["refreshes"] == [401] * 6,
        str(probes["refreshes"]),
    )
    check(
        "redis-stop: a create with Idempotency-Key proceeds without the cache",
        probes["idempotent"].status == 201,
        f"{probes['idempotent'].status} {probes['idempotent'].code}",
    )
    if "ready_after" in probes:
        check(
            "redis-stop: /ready is 200 again once Redis is back",
            probes["ready_after"].ok,
            f"after {probes['ready_after_s']:.2f} s",
        )
        check(
            "redis-stop: the logged-out token is still refused once Redis is back (empty)",
            probes["revoked_after"].code == "token_revoked",
            str(probes["revoked_after"].status),
        )
        run.notes.append(f"/ready 200 {probes['ready_after_s']:.2f} s after Redis returned")
    return run


def scenario_worker_kill(stack: Stack, args) -> Run:
    marks = {}

    def fault(run: Run, t0: float) -> None:
        time.sleep(args.duration * 0.5)
        before = stack.server.workers()
        victim = min(before)
        marks["kill"] = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        log(f"SIGKILL to worker {victim} at {marks['kill'] - t0:.1f} s")
        deadline = marks["kill"] + 30
        while time.monotonic() < deadline:
            now = stack.server.workers()
            if len(now) == WORKERS and victim not in now:
                marks["replaced"] = time.monotonic() - marks["kill"]
                marks["new"] = now - before
                break
            time.sleep(0.05)

    run = stack.drive("worker-kill", "WKIL", args.duration, fault)
    if "kill" not in marks:
        return run
    check(
        "worker-kill: gunicorn replaces the killed worker",
        "replaced" in marks and stack.server.process.poll() is None,
        f"new worker {marks.get('new')} after {marks.get('replaced', float('nan')):.2f} s",
    )
    bad = server_errors(run)
    per_client = Counter(r.client for r in bad)
    kill = marks["kill"]
    check(
        "worker-kill: only requests in flight at the kill fail, at most one per client, no 5xx",
        all(
            r.answer.status is None and r.answer.started <= kill <= r.answer.ended + 0.5
            for r in bad
        )
        and max(per_client.values(), default=0) <= 1,
        f"{len(bad)} failed ({describe(bad)}), in {len(per_client)} clients",
    )
    run.notes.append(
        f"{len(bad)} in-flight requests lost; worker replaced in "
        f"{marks.get('replaced', float('nan')):.2f} s"
    )
    return run


class WebhookRig:
    """A receiver on loopback, a webhook of the scenario's project pointed at it, and a
    Celery worker (prefork) and beat over the stack's Redis; afterwards, the promise that
    every committed event of the project reached the receiver, once signed, and no other."""

    WORKER_ARGS = ("worker", "--pool=prefork", "--concurrency=2", "--loglevel=INFO")

    def __init__(self, stack: Stack, **receiver):
        self.stack = stack
        self.receiver = Receiver(**receiver)
        self.env = {
            **stack.env,
            "WEBHOOK_SWEEP_INTERVAL": "2",
            "WEBHOOK_CONNECT_TIMEOUT": "2",
            "WEBHOOK_READ_TIMEOUT": "3",
            "LOG_LEVEL": "INFO",
        }
        self.workers = [self.worker("worker-1")]
        schedule = str(stack.folder / "celerybeat-schedule")
        self.beat = CeleryProcess(
            self.env, stack.folder, "beat", "beat", "--loglevel=INFO", "-s", schedule
        )
        self.hook = {}
        if not self.workers[0].wait_until(" ready.", 60):
            self.close()
            raise RuntimeError("the Celery worker did not start: see worker-1.log")

    def worker(self, name: str) -> CeleryProcess:
        return CeleryProcess(
            self.env, self.stack.folder, name, *self.WORKER_ARGS, "-n", f"{name}@%h"
        )

    def prepare(self, project: str) -> None:
        url = f"http://127.0.0.1:{self.receiver.port}/hooks"
        answer = self.stack.call(
            "POST", f"/api/v1/projects/{project}/webhooks", self.stack.owner.token, {"url": url}
        )
        if answer.status != 201:
            raise RuntimeError(f"create webhook: {answer.status} {answer.body}")
        self.hook["secret"] = answer.body["secret"]
        with psycopg.connect(self.stack.postgres.url("tracker")) as conn:
            (self.hook["after"],) = conn.execute(
                "SELECT coalesce(max(id), 0) FROM events_event"
            ).fetchone()

    def settle(self, run: Run) -> None:
        """Wait (up to WEBHOOK_WAIT) for every event to arrive, then check what did."""
        ended = time.monotonic()
        log(f"load over; waiting up to {WEBHOOK_WAIT:.0f} s for the deliveries")
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
        name = run.name
        missing = expected - seen["ids"]
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
        )

    def close(self) -> None:
        for process in [*self.workers, self.beat]:
            process.close()
        self.receiver.close()


def scenario_webhooks(stack: Stack, args) -> Run:
    rig = WebhookRig(stack)
    workers = rig.workers
    marks = {}
    # Kubernetes restarts a worker container that exits (restartPolicy Always), Compose one
    # with `restart: unless-stopped`; so does this scenario, for the worker it SIGKILLs, and
    # for any that exits on its own (which broker-restarts checks none does).
    supervising = threading.Event()
    workers_lock = threading.Lock()
    restarts = []

    def supervise() -> None:
        while not supervising.wait(0.5):
            with workers_lock:
                if workers[-1].process.poll() is None:
                    continue
                name = f"worker-{len(workers) + 1}"
                restarts.append(
                    f"{workers[-1].log_path.name} exited {workers[-1].process.returncode}"
                )
                log(f"the Celery worker exited ({restarts[-1]}); restarting it as {name}")
                workers.append(rig.worker(name))

    def fault(run: Run, t0: float) -> None:
        time.sleep(args.duration * 0.2)
        with workers_lock:
            workers[-1].kill()
            log(f"SIGKILL to the Celery worker at {time.monotonic() - t0:.1f} s; starting another")
            workers.append(rig.worker(f"worker-{len(workers) + 1}"))
        time.sleep(max(0.0, t0 + args.duration * 0.4 - time.monotonic()))
        stack.redis.stop()
        log(f"Redis (the broker) stopped at {time.monotonic() - t0:.1f} s")
        time.sleep(args.outage)
        stack.redis.start()
        log(f"Redis back at {time.monotonic() - t0:.1f} s")
        time.sleep(max(0.0, t0 + args.duration * 0.65 - time.monotonic()))
        stack.postgres.stop("immediate")
        log(f"PostgreSQL stopped (immediate) at {time.monotonic() - t0:.1f} s")
        time.sleep(args.outage)
        stack.postgres.start()
        marks["back"] = time.monotonic()
        log(f"PostgreSQL back at {marks['back'] - t0:.1f} s")

    supervisor = threading.Thread(target=supervise, daemon=True)
    try:
        supervisor.start()
        run = stack.drive("webhooks", "HOOK", args.duration, fault, rig.prepare)
        rig.settle(run)
    finally:
        supervising.set()
        if supervisor.is_alive():
            supervisor.join()
        rig.close()
    if restarts:
        run.notes.append(f"workers restarted after exiting on their own: {', '.join(restarts)}")
    return run


BROKER_RESTARTS = 5
# Seconds between outages: the worker reconnects (its first try is 2 s after it lost the
# broker, the next 4 s later), then works.
BROKER_UP = 8.0


def scenario_broker_restarts(stack: Stack, args) -> Run:
    """Redis, the broker, stops and comes back BROKER_RESTARTS times while the clients'
    writes keep the worker busy: the same worker process is there at the end, it delivered
    every event, and nothing restarted it."""
    # When the broker goes, the worker holds tasks it has not acknowledged (the retries it
    # keeps until they are due: the receiver turns away the first attempt of one message in
    # four) while it waits for more (a quarter of the clients leave it time to wait): the
    # moment kombu's Redis transport took it down at.
    rig = WebhookRig(stack, fail_every=4)
    worker = rig.workers[0]
    pid = worker.process.pid
    outage = min(args.outage, 1.0)
    seconds = max(args.duration, BROKER_RESTARTS * (BROKER_UP + outage) + BROKER_UP)

    def fault(run: Run, t0: float) -> None:
        for n in range(BROKER_RESTARTS):
            time.sleep(BROKER_UP)
            stack.redis.stop()
            time.sleep(outage)
            stack.redis.start()
            alive = worker.process.poll() is None
            log(f"broker restart {n + 1}: {outage:.1f} s down; worker {pid} alive: {alive}")

    try:
        clients = max(1, len(stack.actors) // 4)
        run = stack.drive("broker-restarts", "BRKR", seconds, fault, rig.prepare, clients)
        rig.settle(run)
        output = worker.log_path.read_text(errors="replace")
        check(
            f"broker-restarts: the same worker (pid {pid}) rode out {BROKER_RESTARTS} broker "
            "restarts",
            worker.process.poll() is None and "Unrecoverable error" not in output,
            f"exit code {worker.process.poll()}; "
            f"{output.count('Connection to broker lost')} connection losses in its log",
        )
        reconnects = output.count("Connected to ") - 1
        run.notes.append(
            f"{BROKER_RESTARTS} broker outages of {outage:.1f} s; worker {pid} reconnected "
            f"{reconnects} times, {output.count('Restoring')} times giving back unacknowledged "
            "tasks"
        )
    finally:
        rig.close()
    return run


def webhook_events(stack: Stack, key: str, after: int) -> tuple[set[int], set[int], set[int]]:
    """The project's events since the webhook, those with a succeeded delivery, and every
    event id stored."""
    with psycopg.connect(stack.postgres.url("tracker"), connect_timeout=5) as conn:
        expected = {
            i
            for (i,) in conn.execute(
                "SELECT e.id FROM events_event e JOIN projects_project p ON p.id = e.project_id"
                " WHERE p.key = %s AND e.id > %s",
                [key, after],
            )
        }
        succeeded = {
            i
            for (i,) in conn.execute(
                "SELECT DISTINCT event_id FROM webhooks_delivery WHERE status = 'succeeded'"
            )
        }
        stored = {i for (i,) in conn.execute("SELECT id FROM events_event")}
    return expected, succeeded, stored


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


def describe(records: list[Record]) -> str:
    kinds = Counter(
        f"{r.op} {r.answer.status or r.answer.error} {r.answer.code}".strip() for r in records
    )
    return ", ".join(f"{n} x {k}" for k, n in kinds.most_common(5)) or "none"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def print_figures(rows: list[tuple[Run, dict]]) -> None:
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
    table = [header]
    for run, figures in rows:
        statuses = run.statuses()
        latencies = [(r.answer.ended - r.answer.started) * 1000 for r in run.records]
        table.append(
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
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    print()
    for n, row in enumerate(table):
        print(
            "  ".join(
                cell.rjust(w) if n and i else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    for run, _ in rows:
        for note in run.notes:
            print(f"{run.name}: {note}")


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
    names = SCENARIOS if "all" in args.scenarios else tuple(dict.fromkeys(args.scenarios))
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
    stack = Stack(folder, args.clients, pgbouncer=args.pgbouncer)
    rows = []
    try:
        started = time.monotonic()
        stack.start()
        log(
            f"PostgreSQL :{stack.postgres.port}, Redis :{stack.redis.port}, "
            f"gunicorn :{stack.server.port}; ready in {time.monotonic() - started:.1f} s"
            + (f"; through PgBouncer :{stack.pgbouncer.port}" if stack.pgbouncer else "")
        )
        scenarios = {
            "load": scenario_load,
            "pg-restart": scenario_pg_restart,
            "redis-stop": scenario_redis_stop,
            "worker-kill": scenario_worker_kill,
            "webhooks": scenario_webhooks,
            "broker-restarts": scenario_broker_restarts,
        }
        for name in names:
            print(f"\n==> {name}: {args.clients} clients for {args.duration:.0f} s", flush=True)
            run = scenarios[name](stack, args)
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
    failed = [name for ok, name, _ in results if not ok]
    print(f"\nResilience: {len(results) - len(failed)} of {len(results)} checks passed")
    for name in failed:
        print(f"FAILED  {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
