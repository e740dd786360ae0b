#!/usr/bin/env python
"""Production smoke test: the service started as the image starts it, checked over HTTP.

Outside a container, against the local PostgreSQL and Redis: production settings (DEBUG
off, secrets from the environment), a fresh database migrated by the migration Job's
command, a generated signing key, static files collected by the Dockerfile's RUN into a
temporary STATIC_ROOT, gunicorn started with the Dockerfile's CMD and probed with its
HEALTHCHECK. Prints one line per check and exits non-zero if any fails.

    .venv/bin/python scripts/smoke_production.py

SMOKE_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres) is where the
database `tracker_smoke_<pid>` is created and dropped again; SMOKE_REDIS_URL defaults to
redis://127.0.0.1:6379/13, a Redis database this script empties.
"""

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get("SMOKE_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/13")
DATABASE = f"tracker_smoke_{os.getpid()}"  # its own, so runs side by side do not collide
HOST = "tracker.test"  # the public host name, as the ingress forwards it
HTTPS = {"Host": HOST, "X-Forwarded-Proto": "https"}  # what the ingress adds
POD_IP_HOST = "10.1.2.3:8000"  # how the kubelet and Prometheus address the pod
METRICS_TOKEN = secrets.token_urlsafe(32)  # what Prometheus sends for /metrics
PASSWORD = "correct horse battery staple"  # noqa: S105

results: list[tuple[bool, str, str]] = []


def check(name: str, ok: bool, detail: str = "") -> bool:
    results.append((bool(ok), name, detail))
    print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"  ({detail})" if detail else ""), flush=True)
    return bool(ok)


def dockerfile(keyword: str) -> list[str]:
    """The Dockerfile's `keyword` instructions, continuation lines joined, keyword removed."""
    text = re.sub(r"^\s*#.*\n", "", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE)
    instructions = text.replace("\\\n", " ").splitlines()
    return [line.removeprefix(f"{keyword} ") for line in instructions if line.startswith(keyword)]


def image_command() -> list[str]:
    """The image's CMD (exec form): this runs exactly what the container runs."""
    return json.loads(dockerfile("CMD")[-1])


def healthcheck_command() -> list[str]:
    return json.loads(dockerfile("HEALTHCHECK")[-1].split(" CMD ", 1)[1])


def migrate_job_command() -> list[str]:
    job = yaml.safe_load((ROOT / "k8s" / "migrate-job.yaml").read_text())
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return container["command"]


def collectstatic_command() -> str:
    """The RUN instruction that collects static files into the image."""
    (command,) = [run for run in dockerfile("RUN") if "collectstatic" in run]
    return command


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port_url() -> str:
    """A PostgreSQL URL on a local port where nothing listens."""
    return f"postgres://postgres@127.0.0.1:{free_port()}/{DATABASE}"


def create_database() -> str:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    return urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{DATABASE}"))


def drop_database() -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def write_private_key(folder: Path) -> Path:
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


def production_env(tmp: Path, database_url: str, key_path: Path) -> dict[str, str]:
    """Only what a pod gets: nothing from this shell leaks in but PATH and locale."""
    return {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "HOME": str(tmp),
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PRIVATE_KEY_PATH": str(key_path),
        "ALLOWED_HOSTS": HOST,
        "CSRF_TRUSTED_ORIGINS": f"https://{HOST}",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "STATIC_ROOT": str(tmp / "static"),
        "SECURE_HSTS_SECONDS": "31536000",
        "NUM_PROXIES": "1",
        "METRICS_TOKEN": METRICS_TOKEN,
        "LOG_LEVEL": "INFO",
    }


def run(command: list[str] | str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our commands, or the Dockerfile's)
        command,
        shell=isinstance(command, str),  # a RUN instruction is a shell command
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


class Server:
    """gunicorn in the background, its stdout (access log) and stderr kept in files."""

    def __init__(self, env: dict[str, str], tmp: Path, name: str):
        self.port = free_port()
        self.answered = 0  # responses received, to compare with the request count in /metrics
        self.stdout = tmp / f"{name}.stdout"
        self.stderr = tmp / f"{name}.stderr"
        env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp / f"{name}-prometheus"),
        }
        with self.stdout.open("w") as out, self.stderr.open("w") as err:
            self.process = subprocess.Popen(  # noqa: S603 (the Dockerfile's CMD)
                image_command(), cwd=ROOT, env=env, stdout=out, stderr=err
            )

    def request(self, method, path, headers=None, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        headers = {"Host": POD_IP_HOST, **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            self.answered += 1
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def wait_until_up(self, seconds: float = 30) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if self.request("GET", "/health")[0] == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.2)
        return False

    def stop(self) -> int | None:
        """SIGTERM, as Kubernetes sends it; the exit code tells whether shutdown was clean."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                return None
        return self.process.returncode


def json_lines(path: Path) -> tuple[list[dict], list[str]]:
    parsed, other = [], []
    for line in path.read_text().splitlines():
        try:
            parsed.append(json.loads(line))
        except ValueError:
            other.append(line)
    return parsed, other


def check_probes_and_headers(server: Server) -> None:
    status, _, body = server.request("GET", "/health")
    check("/health answers 200 when addressed by pod IP", status == 200, body.decode())
    status, _, body = server.request("GET", "/ready")
    ready = json.loads(body)
    check(
        "/ready answers 200 with database and Redis ok",
        status == 200 and ready.get("checks") == {"database": "ok", "cache": "ok"},
        body.decode(),
    )
    status, headers, _ = server.request("GET", "/api/v1/", {"Host": HOST})
    check(
        "plain HTTP is redirected to HTTPS",
        status == 301 and headers.get("Location", "").startswith(f"https://{HOST}/"),
        f"{status} {headers.get('Location')}",
    )
    status, headers, _ = server.request("GET", "/api/v1/", HTTPS)
    expected = {
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }
    missing = {name: headers.get(name) for name, value in expected.items()}
    missing = {name: got for name, got in missing.items() if got != expected[name]}
    check("security headers on HTTPS responses", status == 200 and not missing, str(missing))

    _, headers, _ = server.request("GET", "/api/v1/", {**HTTPS, "X-Request-ID": "smoke-given-id"})
    check("X-Request-ID is echoed", headers.get("X-Request-ID") == "smoke-given-id")
    _, headers, _ = server.request("GET", "/api/v1/", HTTPS)
    generated = headers.get("X-Request-ID", "")
    check("X-Request-ID is generated", re.fullmatch(r"[0-9a-f]{32}", generated), generated)


def check_static_files(server: Server) -> None:
    for page, asset in (
        ("/admin/login/", r"/static/admin/css/base\.[0-9a-f]{12}\.css"),
        ("/api/v1/", r"/static/rest_framework/css/bootstrap\.min\.[0-9a-f]{12}\.css"),
        (
            "/api/v1/docs/",
            r"/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui\.[0-9a-f]{12}\.css",
        ),
    ):
        status, _, body = server.request("GET", page, {**HTTPS, "Accept": "text/html"})
        found = re.search(asset, body.decode())
        if not check(f"{page} links hashed CSS", status == 200 and found, str(status)):
            continue
        status, headers, _ = server.request(
            "GET", found.group(0), {**HTTPS, "Accept-Encoding": "gzip"}
        )
        check(
            f"WhiteNoise serves {found.group(0)} compressed, cached for good",
            status == 200
            and headers.get("Content-Type", "").startswith("text/css")
            and headers.get("Content-Encoding") == "gzip"
            and "immutable" in headers.get("Cache-Control", ""),
            f"{status} {headers.get('Content-Encoding')} {headers.get('Cache-Control')}",
        )


def check_api_flow(server: Server) -> None:
    """register -> login -> me; with projects and issues deployed, also the issue workflow."""
    user = {"username": "smoke", "email": "smoke@example.com", "password": PASSWORD}
    status, _, body = server.request("POST", "/api/v1/auth/register", HTTPS, user)
    check("register", status == 201, f"{status} {body[:200]!r}")
    login = {"username": "smoke", "password": PASSWORD}
    status, _, body = server.request("POST", "/api/v1/auth/login", HTTPS, login)
    if not check("login", status == 200, str(status)):
        return
    auth = {**HTTPS, "Authorization": f"Bearer {json.loads(body)['access_token']}"}
    status, _, body = server.request("GET", "/api/v1/me", auth)
    check("me", status == 200 and json.loads(body).get("username") == "smoke", str(status))

    if server.request("GET", "/api/v1/projects", auth)[0] == 404:
        print("SKIP  project -> issue -> transition (no /api/v1/projects in this build)")
        return
    project = {"key": "SMOKE", "name": "Smoke test", "visibility": "private"}
    status, _, body = server.request("POST", "/api/v1/projects", auth, project)
    check("create project", status == 201, f"{status} {body[:200]!r}")
    if server.request("GET", "/api/v1/issues", auth)[0] == 404:
        print("SKIP  issue -> transition (no /api/v1/issues in this build)")
        return
    issue = {"project": "SMOKE", "title": "It works in production", "assignee": "smoke"}
    status, _, body = server.request("POST", "/api/v1/issues", auth, issue)
    if not check("create issue", status == 201, f"{status} {body[:200]!r}"):
        return
    key = json.loads(body)["key"]
    status, _, body = server.request(
        "POST", f"/api/v1/issues/{key}/status", auth, {"status": "in_progress"}
    )
    check(
        f"transition {key} to in_progress",
        status == 200 and json.loads(body).get("status") == "in_progress",
        f"{status} {body[:200]!r}",
    )


def check_metrics(server: Server) -> None:
    # Sent from loopback: the peer address earns nothing, nor does a forwarding header.
    for name, sent in (
        ("without a token", {}),
        ("with a wrong token", {"Authorization": "Bearer wrong"}),
        ("with a forged X-Forwarded-For", {"X-Forwarded-For": "127.0.0.1"}),
    ):
        status, headers, body = server.request("GET", "/metrics", sent)
        check(
            f"/metrics {name} is a problem+json 404 without metrics",
            status == 404
            and headers.get("Content-Type") == "application/problem+json"
            and b"django_" not in body,
            f"{status} {body[:100]!r}",
        )
    status, _, body = server.request(
        "GET", "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    text = body.decode()
    for name in (
        "django_http_requests_total_by_view_transport_method_total",
        "django_http_requests_latency_seconds_by_view_method_bucket",
        "django_db_execute_total",
        "django_cache_get_total",
    ):
        check(f"/metrics has {name}", status == 200 and f"\n{name}{{" in text, str(status))
    # Each worker counts its own requests; only the multiprocess files add all of them up.
    counted = sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "django_http_requests_before_middlewares_total"
    )
    check(
        "/metrics counts the requests of every worker",
        counted >= server.answered - 1,
        f"{counted:.0f} counted, {server.answered - 1} answered before",
    )


def check_logs(server: Server, exit_code: int | None) -> None:
    check("SIGTERM stops gunicorn cleanly", exit_code == 0, f"exit code {exit_code}")
    access, other = json_lines(server.stdout)
    check("access log is JSON lines", access and not other, f"{len(other)} other lines")
    given = [line for line in access if line.get("request_id") == "smoke-given-id"]
    check(
        "access log line has request id, status and duration",
        given
        and given[0].get("path") == "/api/v1/"
        and given[0].get("status") == 200
        and isinstance(given[0].get("duration_ms"), float),
        json.dumps(given[:1]),
    )
    errors, other = json_lines(server.stderr)
    check("server and application logs are JSON lines", errors and not other, str(other[:3]))


def check_ready_without_database(env: dict[str, str], tmp: Path) -> None:
    server = Server({**env, "DATABASE_URL": closed_port_url()}, tmp, "nodb")
    try:
        if not check("gunicorn starts with the database down", server.wait_until_up()):
            return
        status, _, body = server.request("GET", "/ready")
        check(
            "/ready answers 503 when the database is unreachable",
            status == 503 and json.loads(body).get("failed") == ["database"],
            f"{status} {body.decode()}",
        )
        check("/health still answers 200", server.request("GET", "/health")[0] == 200)
    finally:
        server.stop()


def smoke(tmp: Path, database_url: str) -> None:
    env = production_env(tmp, database_url, write_private_key(tmp))
    python = str(VENV_BIN / "python")
    for name, command in (
        (
            "manage.py check --deploy --fail-level WARNING",
            [python, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        ),
        ("manage.py migrate (k8s/migrate-job.yaml's command)", migrate_job_command()),
        ("collectstatic (the Dockerfile's RUN)", collectstatic_command()),
    ):
        done = run(command, env)
        output = (done.stdout + done.stderr).strip().splitlines() or [""]
        if not check(name, done.returncode == 0, output[-1]):
            print("\n".join(output))
            if "check" not in name:  # without a schema or static files nothing else can pass
                return

    print(f"      gunicorn: {' '.join(image_command())}")
    server = Server(env, tmp, "web")
    try:
        if check("gunicorn starts", server.wait_until_up()):
            done = run(healthcheck_command(), {**env, "PORT": str(server.port)})
            check("the Dockerfile's HEALTHCHECK passes", done.returncode == 0, done.stderr)
            check_probes_and_headers(server)
            check_static_files(server)
            check_api_flow(server)
            check_metrics(server)
    finally:
        exit_code = server.stop()
    check_logs(server, exit_code)
    check_ready_without_database(env, tmp)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="smoke-") as tmp_name:
        tmp = Path(tmp_name)
        redis.Redis.from_url(REDIS_URL).flushdb()
        try:
            smoke(tmp, create_database())
        finally:
            drop_database()

        failed = [name for ok, name, _ in results if not ok]
        print(f"\nSmoke test: {len(results) - len(failed)} of {len(results)} checks passed")
        if failed:
            for name in ("web.stderr", "nodb.stderr"):
                path = tmp / name
                if path.exists():
                    print(f"--- {name} (last lines)")
                    print("\n".join(path.read_text().splitlines()[-20:]))
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
