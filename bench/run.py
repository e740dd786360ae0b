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
  7. prints a table and writes JSON and Markdown to bench/results/ with the machine,
     versions, date and load average, and whether each target is met.

Environment: BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres: the
server where `tracker_bench` is created), BENCH_DATABASE (default tracker_bench),
BENCH_REDIS_URL (default redis://127.0.0.1:6379/8, a Redis database this script empties).

--pgbouncer serves through a PgBouncer in transaction pooling mode (scripts/pgbouncer.py,
DATABASE_POOLER=pgbouncer, 8 server connections: one per gunicorn thread), as README's
"PgBouncer" describes; results then go to issues-N-pgbouncer.{json,md}.

wrk's 8 connections are kept alive for a whole round, and each stays with the gunicorn
worker that accepted it: a round where one worker got most of them measures one worker,
not two. Each round records how its connections were spread (`spread`, per worker); a
round more lopsided than 6:2 is run again, up to twice, and the spread is reported.
"""

import argparse
import datetime
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = sys.executable
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
DATABASE = os.environ.get("BENCH_DATABASE", "tracker_bench")
PAGE = "page_size=50"
HTTPS = {"X-Forwarded-Proto": "https"}  # what the TLS-terminating ingress adds
METRICS_TOKEN = secrets.token_urlsafe(32)  # /metrics answers only this bearer token
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}

# Targets (see the README's Performance section), checked on every run.
TARGETS = {
    "list_vs_floor": 0.5,  # every list's requests/s at least half its data floor's
    "pages_vs_floor": 0.55,  # ... the page-number list's, 55%
    "detail_vs_floor": 0.6,  # issue detail: 60% of a bare Django view reading the issue
    "list_vs_bare": 0.35,  # lists and search against the bare WSGI floor
    "filtered_vs_bare": 0.30,  # the filtered list and issue detail against it
    "list_vs_naive": 10.0,  # the issue list ten times the naive baseline's
    "list_queries": 4,  # SQL statements per list request, at most
    "deep_p99_ratio": 1.5,  # cursor page 10,000 p99 within 1.5x the first page's
    "filtered_p99_ms": 25.0,
    "search_selective_p99_ms": 50.0,
    "search_common_p99_ms": 50.0,  # with page numbers, counted
    "comment_p99_vs_p50": 2.0,
    "create_vs_earlier": 2.0,  # requests/s against EARLIER's
    "transition_vs_earlier": 1.5,
    "scale_p50_ratio": 1.2,  # p50 at a million within 1.2x its p50 at 100,000
    "auth_overhead_ms": 1.0,  # median, same endpoint with and without a token
    "outbox_cost": 0.10,  # create issue with five subscribed webhooks: at most 10% slower
    "worker_rss_mb": 150.0,
}
# Requests/s of the writes at a million issues before the work on them (the issue "Lists
# as fast as the data allows"), which the write targets multiply.
EARLIER = {"create issue": 54, "status transition": 94}

WRK_REPORT = """
response = function(status, headers, body)
  if observe then observe(status, body) end
  if status > 299 then
    local text = string.sub(body, 1, 300):gsub('\\n', ' ')
    io.write('BENCH_FAILED ' .. status .. ' ' .. text .. '\\n')
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "bytes": %d, "non2xx": %d, '
    .. '"socket_errors": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, summary.bytes, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


def wrk_script(headers: dict, method="GET", path=None, paths=None, body=None, toggle=None):
    """A wrk Lua script: fixed request, a rotation over `paths`, or start/stop `toggle` keys."""
    lines = [f"wrk.method = {lua_string(method)}"]
    for name, value in headers.items():
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    if body is not None:
        lines.append(f"wrk.body = {lua_string(body)}")
    if body is not None or toggle:
        lines.append('wrk.headers["Content-Type"] = "application/json"')
    if path is not None:
        lines.append(f"wrk.path = {lua_string(path)}")
    if paths:
        lines.append("local paths = {" + ", ".join(lua_string(p) for p in paths) + "}")
        lines.append(
            "local i = math.random(#paths)\n"
            "request = function()\n"
            "  i = i % #paths + 1\n"
            "  return wrk.format(nil, paths[i])\n"
            "end"
        )
    if toggle:
        # Each wrk thread works its own slice of the keys, so no key is ever in flight twice.
        lines.append("local keys = {" + ", ".join(lua_string(k) for k in toggle) + "}")
        lines.append(
            "local threads = 0\n"
            "function setup(thread) thread:set('tid', threads); threads = threads + 1 end\n"
            "local i, state = 0, {}\n"
            "request = function()\n"
            "  local per = math.floor(#keys / nthreads)\n"
            "  i = i % per + 1\n"
            "  local key = keys[tid * per + i]\n"
            "  local target = state[key] == 'in_progress' and 'open' or 'in_progress'\n"
            "  return wrk.format('POST', '/api/v1/issues/' .. key .. '/status', nil,\n"
            "    '{\"status\": \"' .. target .. '\"}')\n"
            "end\n"
            # The status comes from the answer, not from what was asked: wrk calls request()
            # once before the run to check it, and that request is never sent.
            "observe = function(status, body)\n"
            '  local key, now = body:match(\'"key":"([^"]+)".-"status":"([^"]+)"\')\n'
            "  if key then state[key] = now end\n"
            "end"
        )
    return "\n".join(lines) + "\n" + WRK_REPORT


# -- the database, the server ---------------------------------------------------------------


def database_url() -> str:
    return urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{DATABASE}"))


def reset_database() -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def seeded() -> tuple[int, float] | None:
    """(issues, seconds the seeding took) of `tracker_bench`, if it was seeded completely."""
    import psycopg

    try:
        with psycopg.connect(database_url()) as conn:
            return conn.execute("SELECT issues, round(seconds) FROM bench_seed").fetchone()
    except psycopg.Error:
        return None


def vacuum() -> None:
    """VACUUM ANALYZE the database, as seeding ends. An earlier run's writes (thousands of
    issues, comments, transitions) leave pages the visibility map no longer marks, and
    PostgreSQL then plans counts that read only indexes differently: a reused database
    starts where a fresh one does."""
    import psycopg

    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def server_env(tmp: Path, port: int) -> dict[str, str]:
    return {
        "PATH": f"{Path(PYTHON).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "HOME": str(tmp),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PRIVATE_KEY_PATH": str(write_private_key(tmp)),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url(),
        "REDIS_URL": REDIS_URL,
        "STATIC_ROOT": str(tmp / "static"),
        "LOG_LEVEL": "WARNING",
        "METRICS_TOKEN": METRICS_TOKEN,
        # The benchmark's single caller makes far more requests than any person would. A
        # per-second window: DRF's throttles keep every request time of the window in one
        # cache value, read and written whole on each request, so an hour's window would
        # grow to the whole run and measure the throttle's history instead of the API.
        "THROTTLE_USER": "1000000/s",
        "THROTTLE_LOGIN": "1000000/s",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        # No recycling during the run: worker memory at the end then shows any growth.
        "GUNICORN_MAX_REQUESTS": "0",
    }


def run_python(args: list[str], env: dict, capture=False) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our own modules)
        [PYTHON, *args], cwd=ROOT, env=env, check=True, text=True, capture_output=capture
    )


class Server:
    def __init__(self, env: dict, tmp: Path, app="config.wsgi", name="gunicorn"):
        self.port = int(env["GUNICORN_BIND"].rsplit(":", 1)[1])
        self.log = tmp / f"{name}.log"
        command = [str(Path(PYTHON).parent / "gunicorn"), "--config", "gunicorn.conf.py"]
        # Only gunicorn gets the metrics folder: commands run with it would write there too.
        env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp / f"{name}-prometheus")}
        with self.log.open("w") as out:
            self.process = subprocess.Popen(  # noqa: S603
                [*command, app], cwd=ROOT, env=env, stdout=out, stderr=out
            )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def request(self, method: str, path: str, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 (our server, on loopback)
            self.url(path),
            data=data,
            method=method,
            headers={**HTTPS, "Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def wait_until_up(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        sys.exit(f"gunicorn did not start; see its log:\n{self.log.read_text()[-3000:]}")

    def counters(self) -> tuple[float, float]:
        """(SQL statements executed, requests served) so far, over all workers, from the
        server's own /metrics (django-prometheus), this scrape not counted."""
        _, body = self.request("GET", "/metrics", headers=METRICS_AUTH)
        statements = requests = 0.0
        for line in body.decode().splitlines():
            if re.match(r"django_db_execute(_many)?_total\{", line):
                statements += float(line.rsplit(" ", 1)[1])
            elif line.startswith("django_http_requests_before_middlewares_total "):
                requests = float(line.rsplit(" ", 1)[1]) - 1
        return statements, requests

    def workers(self) -> list[int]:
        pid = self.process.pid
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def connections_per_worker(self) -> list[int]:
        """How many client connections each worker holds open now (sorted, most first)."""
        established = set()  # socket inodes of connections to our port
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as lines:
                for line in list(lines)[1:]:
                    fields = line.split()
                    local_port = int(fields[1].rsplit(":", 1)[1], 16)
                    if local_port == self.port and fields[3] == "01":  # ESTABLISHED
                        established.add(fields[9])
        counts = []
        for pid in self.workers():
            inodes = set()
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue  # closed meanwhile
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
            counts.append(len(inodes & established))
        return sorted(counts, reverse=True)

    def workers_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.workers():
            status = Path(f"/proc/{pid}/status").read_text()
            kb = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
            sizes.append(round(kb / 1024, 1))
        return sizes

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# -- load -----------------------------------------------------------------------------------


def wrk(server: Server, script: str, tmp: Path, seconds: float, connections: int, threads: int):
    path = tmp / "scenario.lua"
    path.write_text(script.replace("nthreads", str(threads)))
    done = subprocess.run(  # noqa: S603
        [
            shutil.which("wrk"),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(path),
            server.url("/"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"^BENCH (.*)$", done.stdout, re.MULTILINE)
    if not match:
        sys.exit(f"wrk printed no report:\n{done.stdout}\n{done.stderr}")
    report = json.loads(match.group(1))
    # What the non-2xx answers said (status and the start of the body), to tell why.
    report["failed"] = re.findall(r"^BENCH_FAILED (.*)$", done.stdout, re.MULTILINE)[:5]
    return report


def spread_during(server, seconds: float, run):
    """`run()`, and `seconds` into it, how the server's workers share its connections."""
    seen = []
    timer = threading.Timer(seconds, lambda: seen.append(server.connections_per_worker()))
    timer.start()
    try:
        result = run()
    finally:
        timer.cancel()
        timer.join()
    return result, seen[0] if seen else []


def lopsided(spread: list[int], connections: int) -> bool:
    """More lopsided than 6:2 for 8 connections (three quarters on one worker); one
    connection is always on one worker."""
    return connections > 1 and len(spread) > 1 and spread[0] > connections * 3 / 4


def measure(server, name, script, args, tmp, connections=None, threads=None, reset=None) -> dict:
    connections = connections or args.connections
    threads = min(threads or args.threads, connections)
    if reset:
        reset()
    wrk(server, script, tmp, args.warmup, connections, threads)
    time.sleep(1)  # the warm-up's last requests finish before the counters are read
    for rounds in range(1, 4):
        if reset:
            reset()
        statements, served = server.counters()
        report, spread = spread_during(
            server,
            min(1.0, args.duration / 2),
            lambda: wrk(server, script, tmp, args.duration, connections, threads),
        )
        time.sleep(0.5)  # requests cut off by wrk's deadline still finish on the server
        statements_after, served_after = server.counters()
        if not lopsided(spread, connections) or rounds == 3:
            break
        print(f"  {name}: connections per worker {spread}, lopsided: again", flush=True)
    # Per request the server served: wrk does not count the requests its deadline cut off.
    sql_per_request = (statements_after - statements) / max(served_after - served - 1, 1)
    requests = max(report["requests"], 1)
    result = {
        "scenario": name,
        "requests": report["requests"],
        "rps": round(report["requests"] / (report["duration_us"] / 1e6), 1),
        "p50_ms": round(report["p50_us"] / 1000, 2),
        "p90_ms": round(report["p90_us"] / 1000, 2),
        "p99_ms": round(report["p99_us"] / 1000, 2),
        "max_ms": round(report["max_us"] / 1000, 2),
        "sql_per_request": round(sql_per_request, 2),
        "errors": report["non2xx"] + report["socket_errors"],
        "failed_answers": report["failed"],
        "bytes_per_response": round(report["bytes"] / requests),
        "connections": connections,
        "spread": spread,
        "rounds": rounds,
    }
    print(
        f"  {name:<34} {result['rps']:>8.1f} req/s  p50 {result['p50_ms']:>7.2f} ms"
        f"  p99 {result['p99_ms']:>7.2f} ms  {result['sql_per_request']:>5.2f} SQL/req"
        + (f"  per worker {':'.join(map(str, spread))}" if len(spread) > 1 else "")
        + (f"  {result['errors']} ERRORS" if result["errors"] else ""),
        flush=True,
    )
    for answer in report["failed"]:
        print(f"    {answer}", flush=True)
    return result


def bare_scenarios(facts: dict) -> list[tuple[str, str]]:
    """The bare WSGI floor's references (bench/bare.py): (name, path), the same reads as the
    data floors'."""
    from bench.seed import COMMON_WORD

    projects = ",".join(str(pk) for pk in facts["visible_projects"])
    labels = ",".join(str(pk) for pk in facts["backend_labels"])
    filtered = f"status=open&assignee={facts['assignee_id']}&labels={labels}&ordering=-priority"
    return [
        ("bare WSGI floor (reference)", f"/?projects={projects}"),
        (
            "bare WSGI floor, filtered + sorted (reference)",
            f"/?projects={projects}&{filtered}&count=1",
        ),
        (
            "bare WSGI floor, search common word, counted (reference)",
            f"/?projects={projects}&search={COMMON_WORD}&count=1",
        ),
        (
            "bare WSGI floor, issue detail (reference)",
            [f"/issues/{key}?projects={projects}" for key in facts["detail_keys"]],
        ),
    ]


def measure_bare(env: dict, tmp: Path, facts: dict, token: str, args) -> list[dict]:
    """The bare WSGI floor (bench/bare.py) in a gunicorn of its own, configured alike."""
    bare = Server(
        {**env, "GUNICORN_BIND": f"127.0.0.1:{free_port()}"}, tmp, "bench.bare:application", "bare"
    )
    results = []
    try:
        bare.wait_until_up()
        headers = {**HTTPS, "Authorization": f"Bearer {token}"}
        for name, path in bare_scenarios(facts):
            if args.only and not any(part in name for part in args.only.split(",")):
                continue
            where = {"paths": path} if isinstance(path, list) else {"path": path}
            script = wrk_script(headers, **where)
            result = measure(bare, name, script, args, tmp)
            alone = measure(bare, "  ... 1 connection", script, args, tmp, 1, 1)
            result.update({f"{key}_1c": alone[key] for key in ("rps", "p50_ms", "p99_ms")})
            results.append(result)
        return results
    finally:
        bare.stop()


class Receiver:
    """A webhook receiver on loopback that answers 204 at once and counts what came."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        receiver = self
        self.received = 0
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.received += 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def measure_deliveries(env: dict, tmp: Path, receiver: Receiver, seconds: float) -> dict:
    """Deliveries per second of one Celery worker process (prefork, concurrency 1), working
    off the deliveries of the events the webhooks scenario made (relayed first, the
    broker's queue emptied of everything else): one signed POST per subscribed webhook to
    the receiver. Counted at the receiver over `seconds`, after the worker's first."""
    queued = json.loads(run_python(["-m", "bench.hooks", "relay"], env, True).stdout)
    log = tmp / "celery.log"
    with log.open("w") as out:
        worker = subprocess.Popen(  # noqa: S603 (our own Celery app)
            [PYTHON, "-m", "celery", "-A", "config", "worker", "--concurrency=1",
             "--loglevel=WARNING", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while receiver.received == 0:
            if worker.poll() is not None or time.monotonic() > deadline:
                sys.exit(
                    f"the Celery worker delivered nothing; its log:\n{log.read_text()[-3000:]}"
                )
            time.sleep(0.1)
        time.sleep(2)  # warmed up
        before, started = receiver.received, time.monotonic()
        time.sleep(seconds)
        after, elapsed = receiver.received, time.monotonic() - started
        statuses = json.loads(run_python(["-m", "bench.hooks", "deliveries"], env, True).stdout)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    result = {
        "queued": queued,
        "deliveries_per_s": round((after - before) / elapsed, 1),
        "seconds": round(elapsed, 1),
        "received": after,
        "statuses": statuses,
        # Work still queued at the end: the worker was busy all the window long.
        "saturated": statuses.get("pending", 0) > 0,
    }
    print(
        f"  webhook deliveries, 1 worker process {result['deliveries_per_s']:>8.1f} /s"
        f"  ({after - before} in {elapsed:.1f} s; deliveries by status {statuses})",
        flush=True,
    )
    return result


def reopen(keys: list[str]):
    """A function that puts the issues `keys` back to open, as the transition scenario
    expects (wrk's script alternates in_progress and open from there)."""
    import psycopg

    def run() -> None:
        with psycopg.connect(database_url()) as conn:
            conn.execute(
                "UPDATE issues_issue i SET status = 'open', resolution = ''"
                " FROM projects_project p WHERE p.id = i.project_id"
                " AND p.key || '-' || i.number = ANY(%s)",
                [keys],
            )

    return run


def login(server: Server, username: str, password: str) -> str:
    status, body = server.request(
        "POST", "/api/v1/auth/login", {"username": username, "password": password}
    )
    if status != 200:
        sys.exit(f"login failed: {status} {body[:300]!r}")
    return json.loads(body)["access_token"]


def scenarios(facts: dict) -> list[tuple[str, dict]]:
    """(name, wrk_script arguments); `auth` marks those sent with the caller's token."""
    from bench.seed import COMMON_WORD, PASSWORD, SELECTIVE_WORD

    projects = ",".join(str(pk) for pk in facts["visible_projects"])
    busy = facts["busy_issue"]
    filtered = f"status=open&assignee={facts['assignee']}&label=backend&ordering=-priority"
    labels = ",".join(str(pk) for pk in facts["backend_labels"])
    floor = f"/bench/floor/issues?projects={projects}"
    floor_filtered = (
        f"{floor}&status=open&assignee={facts['assignee_id']}&labels={labels}&ordering=-priority"
    )
    new_issue = {
        "project": "CORE",
        "title": "Benchmark: the export button times out on large projects",
        "description": "Steps to reproduce: open a project with many issues, press export. " * 6,
        "type": "bug",
        "priority": "high",
        "labels": ["backend", "performance"],
    }
    comment = {"body": "Reproduced on the staging cluster; the worker log shows a timeout. " * 3}
    return [
        ("data floor (reference)", {"path": floor}),
        ("data floor, filtered + sorted (reference)", {"path": f"{floor_filtered}&count=1"}),
        (
            "data floor, search common word, counted (reference)",
            {"path": f"{floor}&search={COMMON_WORD}&count=1"},
        ),
        (
            "data floor, issue detail (reference)",
            {
                "paths": [
                    f"/bench/floor/issues/{k}?projects={projects}" for k in facts["detail_keys"]
                ]
            },
        ),
        ("naive DRF baseline (reference)", {"path": "/bench/naive/issues", "auth": True}),
        ("issue list, page numbers", {"path": f"/api/v1/issues?{PAGE}", "auth": True}),
        ("issue list, cursor", {"path": f"/api/v1/issues?{PAGE}&cursor=", "auth": True}),
        (
            "issue list, filtered + sorted",
            {"path": f"/api/v1/issues?{PAGE}&{filtered}", "auth": True},
        ),
        (
            f"issue list, cursor page {facts['deep_page']:,}",
            {"path": f"/api/v1/issues?{PAGE}&cursor={facts['deep_cursor']}", "auth": True},
        ),
        (
            "search, selective word",
            {"path": f"/api/v1/issues?{PAGE}&search={SELECTIVE_WORD}", "auth": True},
        ),
        (
            "search, common word",
            {"path": f"/api/v1/issues?{PAGE}&search={COMMON_WORD}", "auth": True},
        ),
        (
            "search, common word, cursor",
            {"path": f"/api/v1/issues?{PAGE}&search={COMMON_WORD}&cursor=", "auth": True},
        ),
        (
            "issue detail",
            {"paths": [f"/api/v1/issues/{k}" for k in facts["detail_keys"]], "auth": True},
        ),
        (
            "comment list (200 comments)",
            {"path": f"/api/v1/issues/{busy}/comments?{PAGE}", "auth": True},
        ),
        (
            "create issue",
            {"method": "POST", "path": "/api/v1/issues", "body": new_issue, "auth": True},
        ),
        (
            "create issue, 5 webhooks",
            {
                "method": "POST",
                "path": "/api/v1/issues",
                "body": new_issue,
                "auth": True,
                "before": "subscribe",
            },
        ),
        (
            "add comment",
            {
                "method": "POST",
                "paths": [f"/api/v1/issues/{k}/comments" for k in facts["comment_keys"]],
                "body": comment,
                "auth": True,
            },
        ),
        ("status transition", {"toggle": facts["transition_keys"], "auth": True}),
        (
            "login",
            {
                "method": "POST",
                "path": "/api/v1/auth/login",
                "body": {"username": facts["caller"], "password": PASSWORD},
            },
        ),
    ]


# -- the report -----------------------------------------------------------------------------


def machine() -> dict:
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        memory_kb = int(meminfo.readline().split()[1])
    return {
        "cores": os.cpu_count(),
        "cpu": model or platform.processor(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "os": platform.platform(),
    }


def versions() -> dict:
    import django
    import gunicorn
    import psycopg
    import redis
    import rest_framework

    with psycopg.connect(POSTGRES_URL) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    redis_version = redis.Redis.from_url(REDIS_URL).info("server")["redis_version"]
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True)  # noqa: S607
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "djangorestframework": rest_framework.VERSION,
        "gunicorn": gunicorn.__version__,
        "psycopg": psycopg.__version__,
        "postgresql": postgres,
        "redis": redis_version,
        "wrk": (wrk_version.stdout + wrk_version.stderr).split("\n")[0].strip(),
        "commit": commit,
    }


def verdicts(
    results: dict, facts: dict, auth: dict, rss: list[float], smaller: dict | None
) -> list[dict]:
    """Each target: what it asks, what was measured, whether it is met. `smaller`: the
    committed report at 100,000 issues, for the scale target of a larger run."""
    by = {r["scenario"]: r for r in results}
    naive = by["naive DRF baseline (reference)"]
    checks = []

    def check(target: str, measured: str, ok: bool) -> None:
        checks.append({"target": target, "measured": measured, "met": bool(ok)})

    def against(name: str, floor: str, target: float) -> None:
        ratio = by[name]["rps"] / by[floor]["rps"]
        check(
            f"{name}: >= {target:.0%} of the req/s of the {floor}",
            f"{ratio:.0%} ({by[name]['rps']:,.0f} vs {by[floor]['rps']:,.0f})",
            ratio >= target,
        )

    for name, floor in FLOORS:
        if name.endswith("(reference)"):
            continue
        if "bare" in floor:
            bare = "filtered" in name or name == "issue detail"
            against(name, floor, TARGETS["filtered_vs_bare" if bare else "list_vs_bare"])
        elif name == "issue list, page numbers":
            against(name, floor, TARGETS["pages_vs_floor"])
        elif name == "issue detail":
            against(name, floor, TARGETS["detail_vs_floor"])
        else:
            against(name, floor, TARGETS["list_vs_floor"])
    for name in ("issue list, page numbers", "issue list, cursor"):
        ratio = by[name]["rps"] / naive["rps"]
        check(
            f"{name}: >= {TARGETS['list_vs_naive']:.0f}x the naive baseline's req/s",
            f"{ratio:.1f}x",
            ratio >= TARGETS["list_vs_naive"],
        )
    # Every statement counted includes Django's per-request connection health check
    # (CONN_HEALTH_CHECKS: one SELECT 1); the filtered list also looks up the named user
    # and labels, to answer 400 for unknown ones.
    lists = [
        r
        for r in results
        if r["scenario"].startswith(("issue list", "search", "comment list"))
        and "filtered" not in r["scenario"]
    ]
    worst = max(lists, key=lambda r: r["sql_per_request"])
    queries = worst["sql_per_request"] - 1
    check(
        f"SQL queries per list request <= {TARGETS['list_queries']} (health check aside)",
        f"at most {queries:.2f} ({worst['scenario']})",
        queries <= TARGETS["list_queries"] + 0.05,
    )
    deep = by[f"issue list, cursor page {facts['deep_page']:,}"]
    first = by["issue list, cursor"]
    ratio = deep["p99_ms_1c"] / first["p99_ms_1c"]
    check(
        f"cursor page {facts['deep_page']:,} p99 <= {TARGETS['deep_p99_ratio']}x the first page's",
        f"{ratio:.2f}x ({deep['p99_ms_1c']} vs {first['p99_ms_1c']} ms, 1 connection)",
        ratio <= TARGETS["deep_p99_ratio"],
    )
    for name, key in (
        ("issue list, filtered + sorted", "filtered_p99_ms"),
        ("search, selective word", "search_selective_p99_ms"),
        ("search, common word", "search_common_p99_ms"),
    ):
        check(
            f"{name}: p99 < {TARGETS[key]:.0f} ms",
            f"{by[name]['p99_ms_1c']} ms (1 connection; {by[name]['p99_ms']} ms with "
            f"{by[name]['connections']})",
            by[name]["p99_ms_1c"] < TARGETS[key],
        )
    comments = by["comment list (200 comments)"]
    ratio = comments["p99_ms_1c"] / comments["p50_ms_1c"]
    check(
        f"comment list: p99 within {TARGETS['comment_p99_vs_p50']:.0f}x its p50 (1 connection)",
        f"{ratio:.1f}x ({comments['p99_ms_1c']} vs {comments['p50_ms_1c']} ms)",
        ratio <= TARGETS["comment_p99_vs_p50"],
    )
    for name, key in (
        ("create issue", "create_vs_earlier"),
        ("status transition", "transition_vs_earlier"),
    ):
        ratio = by[name]["rps"] / EARLIER[name]
        check(
            f"{name}: >= {TARGETS[key]}x the earlier {EARLIER[name]} req/s",
            f"{ratio:.2f}x ({by[name]['rps']:,.0f} req/s, {by[name]['sql_per_request']:.0f} SQL)",
            ratio >= TARGETS[key],
        )
    if smaller:
        before = {r["scenario"]: r for r in smaller["scenarios"]}
        for name in ("issue list, page numbers", "issue list, filtered + sorted"):
            if name in before:
                ratio = by[name]["p50_ms_1c"] / before[name]["p50_ms_1c"]
                check(
                    f"{name}: p50 within {TARGETS['scale_p50_ratio']}x its p50 at "
                    f"{smaller['dataset']['issues']:,} issues (1 connection)",
                    f"{ratio:.2f}x ({by[name]['p50_ms_1c']} vs {before[name]['p50_ms_1c']} ms)",
                    ratio <= TARGETS["scale_p50_ratio"],
                )
    check(
        f"authentication overhead (median) < {TARGETS['auth_overhead_ms']} ms",
        f"{auth['overhead_ms']:.2f} ms",
        auth["overhead_ms"] < TARGETS["auth_overhead_ms"],
    )
    check(
        "authentication with a personal access token costs no more than with a JWT (median)",
        f"{auth['pat_overhead_ms']:.2f} ms vs {auth['overhead_ms']:.2f} ms",
        auth["pat_overhead_ms"] <= auth["overhead_ms"],
    )
    plain, hooked = by["create issue"], by["create issue, 5 webhooks"]
    cost = 1 - hooked["rps"] / plain["rps"]
    check(
        f"create issue with 5 subscribed webhooks: at most {TARGETS['outbox_cost']:.0%} "
        "fewer req/s than with none",
        f"{cost:.1%} ({hooked['rps']:,.0f} vs {plain['rps']:,.0f} req/s)",
        cost <= TARGETS["outbox_cost"],
    )
    check(
        f"each gunicorn worker < {TARGETS['worker_rss_mb']:.0f} MB resident after the run",
        ", ".join(f"{mb:.0f} MB" for mb in rss),
        rss and max(rss) < TARGETS["worker_rss_mb"],
    )
    errors = [r["scenario"] for r in results if r["errors"]]
    check("no failed requests", ", ".join(errors) or "none", not errors)
    return checks


# Each scenario beside the references that read the same rows (bench/views.py, bare.py).
FLOORS = [
    ("issue list, page numbers", "data floor (reference)"),
    ("issue list, cursor", "data floor (reference)"),
    ("issue list, filtered + sorted", "data floor, filtered + sorted (reference)"),
    ("search, common word", "data floor, search common word, counted (reference)"),
    ("issue detail", "data floor, issue detail (reference)"),
    ("issue list, page numbers", "bare WSGI floor (reference)"),
    ("issue list, cursor", "bare WSGI floor (reference)"),
    ("issue list, filtered + sorted", "bare WSGI floor, filtered + sorted (reference)"),
    ("search, common word", "bare WSGI floor, search common word, counted (reference)"),
    ("issue detail", "bare WSGI floor, issue detail (reference)"),
    ("data floor (reference)", "bare WSGI floor (reference)"),
    ("data floor, issue detail (reference)", "bare WSGI floor, issue detail (reference)"),
]


def floor_ratios(results: list[dict]) -> list[str]:
    by = {r["scenario"]: r for r in results}
    return [
        f"{name}: {by[name]['rps'] / by[floor]['rps']:.0%} of the req/s of the {floor} "
        f"({by[name]['rps']:,.0f} vs {by[floor]['rps']:,.0f})"
        for name, floor in FLOORS
        if name in by and floor in by and by[floor]["rps"]
    ]


def markdown(report: dict) -> str:
    m, v, d = report["machine"], report["versions"], report["dataset"]
    lines = [
        f"# Benchmark: {d['issues']:,} issues",
        "",
        f"{report['date']}; {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB; "
        f"load average before the run {report['load_before']}, after {report['load_after']}.",
        f"PostgreSQL {v['postgresql']}, Redis {v['redis']}, Python {v['python']}, Django "
        f"{v['django']}, DRF {v['djangorestframework']}, gunicorn {v['gunicorn']} "
        f"({report['server']}), {v['wrk']}; commit {v['commit']}.",
        f"Load: wrk, {report['load']}. The caller sees {d['visible_issues']:,} of the issues "
        f"(seeded in {d['seed_seconds']:.0f} s).",
        "",
        "SQL/req: statements per request, counted by the server; each includes Django's "
        "connection health check (one `SELECT 1`, CONN_HEALTH_CHECKS).",
        "",
        f"Throughput and latency with {report['load'].split(',')[0]} (the server saturated), "
        "then the latency of one request at a time (1 connection).",
        "",
        "| scenario | req/s | p50 ms | p99 ms | 1 conn: p50 ms | p99 ms | SQL/req "
        "| conns per worker |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report["scenarios"]:
        lines.append(
            f"| {r['scenario']} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
            f"| {r['p50_ms_1c']:.1f} | {r['p99_ms_1c']:.1f} | {r['sql_per_request']:.1f} "
            f"| {':'.join(map(str, r.get('spread', [])))}"
            + (f" ({r['rounds']} rounds)" if r.get("rounds", 1) > 1 else "")
            + " |"
        )
    a = report["auth_overhead"]
    lines += ["", "Against the references serving the same rows:", ""]
    lines += [f"- {line}" for line in floor_ratios(report["scenarios"])]
    lines += [
        "",
        f"Authentication overhead ({a['path']}, 1 connection): median {a['with_token_p50_ms']} ms "
        f"with a JWT, {a['with_pat_p50_ms']} ms with a personal access token, "
        f"{a['without_token_p50_ms']} ms without: {a['overhead_ms']} ms for the JWT, "
        f"{a['pat_overhead_ms']} ms for the token.",
        f"Worker memory after the run: {', '.join(f'{mb} MB' for mb in report['worker_rss_mb'])}.",
    ]
    w = report.get("webhook_deliveries")
    if w:
        lines += [
            "",
            f"Webhook deliveries: {w['deliveries_per_s']:,.0f}/s from one Celery worker "
            f"process (concurrency 1) to a local receiver, over {w['seconds']} s of the "
            f"{w['queued']:,} deliveries of the webhooks scenario's events "
            f"({'some still queued at the end' if w['saturated'] else 'the backlog ran out'}). "
            "The workers did not run during the create-issue scenarios: on this machine they "
            "would take the server's cores, as they do not on a cluster's other nodes.",
        ]
    lines += [
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for c in report["targets"]:
        lines.append(f"| {c['target']} | {c['measured']} | {'yes' if c['met'] else '**no**'} |")
    return "\n".join(lines) + "\n"


# -- main -----------------------------------------------------------------------------------


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
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))

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
        env = server_env(tmp, free_port())
        seed_seconds = None
        earlier = seeded() if args.reuse_db else None
        if earlier and earlier[0] == args.issues:
            print(f"Reusing {DATABASE} ({args.issues:,} issues)")
            run_python(["manage.py", "migrate", "-v0"], env)
            vacuum()
            seed_seconds = earlier[1]
        else:
            print(f"Creating {DATABASE}, migrating, seeding {args.issues:,} issues")
            reset_database()
            run_python(["manage.py", "migrate", "-v0"], env)
            started = time.monotonic()
            run_python(["-m", "bench.seed", "--issues", str(args.issues)], env)
            seed_seconds = round(time.monotonic() - started, 1)
        depth = min(args.depth, max(2, int(args.issues * 0.9) // 50 - 1))
        facts = json.loads(
            run_python(["-m", "bench.prepare", "--depth", str(depth)], env, True).stdout
        )

        bouncer = None
        if args.pgbouncer:
            from harness.pgbouncer import PgBouncer

            # Seeding and migrating above went to PostgreSQL directly; the server does not.
            tmp.chmod(0o711)  # PgBouncer runs as postgres when this runs as root
            bouncer = PgBouncer(tmp / "pgbouncer", POSTGRES_URL, pool_size=8)
            bouncer.start()
            env = {**env, "DATABASE_URL": bouncer.url(DATABASE), "DATABASE_POOLER": "pgbouncer"}
        server = Server(env, tmp)
        receiver = Receiver()
        # The receiver listens on loopback, which webhooks refuse unless told otherwise.
        hooks_env = {**env, "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"}
        deliveries = None
        try:
            server.wait_until_up()
            print(f"gunicorn on :{server.port}; {args.duration:g} s of load per scenario\n")
            from bench.seed import PASSWORD

            results = []
            # The bare floor first, as the other reads come before the writes: the writes
            # leave pages the visibility map no longer marks (see vacuum()).
            if not args.only or "bare" in args.only:
                token = login(server, facts["caller"], PASSWORD)
                results += measure_bare(env, tmp, facts, token, args)
            for name, spec in scenarios(facts):
                if args.only and not any(part in name for part in args.only.split(",")):
                    continue
                headers = dict(HTTPS)
                if spec.pop("auth", False):
                    token = login(server, facts["caller"], PASSWORD)
                    headers["Authorization"] = f"Bearer {token}"
                if "body" in spec:
                    spec["body"] = json.dumps(spec["body"])
                reset = reopen(spec["toggle"]) if "toggle" in spec else None
                if spec.pop("before", None) == "subscribe":
                    run_python(
                        ["-m", "bench.hooks", "subscribe", "CORE", receiver.url, "--count", "5"],
                        hooks_env,
                        capture=True,
                    )
                script = wrk_script(headers, **spec)
                result = measure(server, name, script, args, tmp, reset=reset)
                # A request's own latency: one connection, nothing queued in front of it.
                alone = measure(server, "  ... 1 connection", script, args, tmp, 1, 1, reset)
                result.update({f"{key}_1c": alone[key] for key in ("rps", "p50_ms", "p99_ms")})
                results.append(result)

            if any(r["scenario"] == "create issue, 5 webhooks" for r in results):
                deliveries = measure_deliveries(hooks_env, tmp, receiver, args.duration)

            # Authentication overhead: one connection, so the median is a request's own time.
            # A JWT (RS256) and a personal access token (trk_) reach the same answer.
            token = login(server, facts["caller"], PASSWORD)
            auth = {"path": "/api/v1/ (API root)"}
            for label, headers in (
                ("with_token", {**HTTPS, "Authorization": f"Bearer {token}"}),
                ("with_pat", {**HTTPS, "Authorization": f"Bearer {facts['pat']}"}),
                ("without_token", HTTPS),
            ):
                r = measure(
                    server,
                    f"api root, {label.replace('_', ' ')}",
                    wrk_script(headers, path="/api/v1/"),
                    args,
                    tmp,
                    1,
                    1,
                )
                auth[f"{label}_p50_ms"] = r["p50_ms"]
                auth[f"{label}_sql"] = r["sql_per_request"]
            auth["overhead_ms"] = round(
                auth["with_token_p50_ms"] - auth["without_token_p50_ms"], 2
            )
            auth["pat_overhead_ms"] = round(
                auth["with_pat_p50_ms"] - auth["without_token_p50_ms"], 2
            )
            rss = server.workers_rss_mb()
        finally:
            server.stop()
            receiver.close()
            if bouncer:
                bouncer.close()

    report = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(),
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
        "scenarios": results,
        "auth_overhead": auth,
        "webhook_deliveries": deliveries,
        "worker_rss_mb": rss,
    }
    if not args.only:
        smaller = args.output / "issues-100000.json"
        smaller = (
            json.loads(smaller.read_text())
            if args.issues > 100_000 and smaller.exists() and not args.pgbouncer
            else None
        )
        report["targets"] = verdicts(results, facts, auth, rss, smaller)
    else:
        report["targets"] = []
    text = markdown(report)
    print("\n" + text)
    if not args.only:
        args.output.mkdir(parents=True, exist_ok=True)
        stem = args.output / f"issues-{args.issues}{'-pgbouncer' if bouncer else ''}"
        stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
        stem.with_suffix(".md").write_text(text)
        print(f"Wrote {stem}.json and {stem}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
