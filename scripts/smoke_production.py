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

import json
import os
import re
import secrets
import sys
import tempfile
from pathlib import Path

import redis
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness
from harness import VENV_BIN, run
from harness.image import (
    HOST,
    HTTPS,
    collectstatic_command,
    healthcheck_command,
    image_command,
    migrate_job_command,
    production_env,
)
from harness.ports import free_port
from harness.postgres import Database
from harness.report import check, summary
from harness.server import Gunicorn, json_lines

POSTGRES_URL = os.environ.get("SMOKE_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/13")
DATABASE = f"tracker_smoke_{os.getpid()}"  # its own, so runs side by side do not collide
POD_IP = {"Host": "10.1.2.3:8000"}  # how the kubelet and Prometheus address the pod
METRICS_TOKEN = secrets.token_urlsafe(32)  # what Prometheus sends for /metrics
PASSWORD = "correct horse battery staple"  # noqa: S105


def call(server: Gunicorn, method, path, headers=None, body=None):
    """(status, headers, body bytes) of a request addressed by pod IP, as the kubelet sends
    it, unless `headers` name the host (HTTPS: as the ingress forwards a client's)."""
    answer = server.request(method, path, body=body, headers={**POD_IP, **(headers or {})})
    return answer.status, answer.headers, answer.raw


def check_probes_and_headers(server: Gunicorn) -> None:
    status, _, body = call(server, "GET", "/health")
    check("/health answers 200 when addressed by pod IP", status == 200, body.decode())
    status, _, body = call(server, "GET", "/ready")
    ready = json.loads(body)
    check(
        "/ready answers 200 with database and Redis ok",
        status == 200 and ready.get("checks") == {"database": "ok", "cache": "ok"},
        body.decode(),
    )
    status, headers, _ = call(server, "GET", "/api/v1/", {"Host": HOST})
    check(
        "plain HTTP is redirected to HTTPS",
        status == 301 and headers.get("Location", "").startswith(f"https://{HOST}/"),
        f"{status} {headers.get('Location')}",
    )
    status, headers, _ = call(server, "GET", "/api/v1/", HTTPS)
    expected = {
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
    }
    missing = {name: headers.get(name) for name, value in expected.items()}
    missing = {name: got for name, got in missing.items() if got != expected[name]}
    check("security headers on HTTPS responses", status == 200 and not missing, str(missing))

    _, headers, _ = call(server, "GET", "/api/v1/", {**HTTPS, "X-Request-ID": "smoke-given-id"})
    check("X-Request-ID is echoed", headers.get("X-Request-ID") == "smoke-given-id")
    _, headers, _ = call(server, "GET", "/api/v1/", HTTPS)
    generated = headers.get("X-Request-ID", "")
    check("X-Request-ID is generated", re.fullmatch(r"[0-9a-f]{32}", generated), generated)


def check_static_files(server: Gunicorn) -> None:
    for page, asset in (
        ("/admin/login/", r"/static/admin/css/base\.[0-9a-f]{12}\.css"),
        ("/api/v1/", r"/static/rest_framework/css/bootstrap\.min\.[0-9a-f]{12}\.css"),
        (
            "/api/v1/docs/",
            r"/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui\.[0-9a-f]{12}\.css",
        ),
    ):
        status, _, body = call(server, "GET", page, {**HTTPS, "Accept": "text/html"})
        found = re.search(asset, body.decode())
        if not check(f"{page} links hashed CSS", status == 200 and found, str(status)):
            continue
        status, headers, _ = call(
            server, "GET", found.group(0), {**HTTPS, "Accept-Encoding": "gzip"}
        )
        check(
            f"WhiteNoise serves {found.group(0)} compressed, cached for good",
            status == 200
            and headers.get("Content-Type", "").startswith("text/css")
            and headers.get("Content-Encoding") == "gzip"
            and "immutable" in headers.get("Cache-Control", ""),
            f"{status} {headers.get('Content-Encoding')} {headers.get('Cache-Control')}",
        )


def check_api_flow(server: Gunicorn) -> None:
    """register -> login -> me; with projects and issues deployed, also the issue workflow."""
    user = {"username": "smoke", "email": "smoke@example.com", "password": PASSWORD}
    status, _, body = call(server, "POST", "/api/v1/auth/register", HTTPS, user)
    check("register", status == 201, f"{status} {body[:200]!r}")
    login = {"username": "smoke", "password": PASSWORD}
    status, _, body = call(server, "POST", "/api/v1/auth/login", HTTPS, login)
    if not check("login", status == 200, str(status)):
        return
    auth = {**HTTPS, "Authorization": f"Bearer {json.loads(body)['access_token']}"}
    status, _, body = call(server, "GET", "/api/v1/me", auth)
    check("me", status == 200 and json.loads(body).get("username") == "smoke", str(status))

    if call(server, "GET", "/api/v1/projects", auth)[0] == 404:
        print("SKIP  project -> issue -> transition (no /api/v1/projects in this build)")
        return
    project = {"key": "SMOKE", "name": "Smoke test", "visibility": "private"}
    status, _, body = call(server, "POST", "/api/v1/projects", auth, project)
    check("create project", status == 201, f"{status} {body[:200]!r}")
    if call(server, "GET", "/api/v1/issues", auth)[0] == 404:
        print("SKIP  issue -> transition (no /api/v1/issues in this build)")
        return
    issue = {"project": "SMOKE", "title": "It works in production", "assignee": "smoke"}
    once = {**auth, "Idempotency-Key": "smoke-create-issue"}  # kept in the cache (Redis)
    status, _, body = call(server, "POST", "/api/v1/issues", once, issue)
    if not check("create issue", status == 201, f"{status} {body[:200]!r}"):
        return
    key = json.loads(body)["key"]
    status, headers, body = call(server, "POST", "/api/v1/issues", once, issue)
    check(
        "a retry with the same Idempotency-Key is replayed, not created again",
        status == 201
        and headers.get("Idempotent-Replayed") == "true"
        and json.loads(body).get("key") == key,
        f"{status} {headers.get('Idempotent-Replayed')} {body[:100]!r}",
    )
    status, _, body = call(
        server, "POST", f"/api/v1/issues/{key}/status", auth, {"status": "in_progress"}
    )
    check(
        f"transition {key} to in_progress",
        status == 200 and json.loads(body).get("status") == "in_progress",
        f"{status} {body[:200]!r}",
    )


def check_metrics(server: Gunicorn) -> None:
    # Sent from loopback: the peer address earns nothing, nor does a forwarding header.
    for name, sent in (
        ("without a token", {}),
        ("with a wrong token", {"Authorization": "Bearer wrong"}),
        ("with a forged X-Forwarded-For", {"X-Forwarded-For": "127.0.0.1"}),
    ):
        status, headers, body = call(server, "GET", "/metrics", sent)
        check(
            f"/metrics {name} is a problem+json 404 without metrics",
            status == 404
            and headers.get("Content-Type") == "application/problem+json"
            and b"django_" not in body,
            f"{status} {body[:100]!r}",
        )
    status, _, body = call(server, "GET", "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})
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


def check_logs(server: Gunicorn, exit_code: int | None) -> None:
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
    # PostgreSQL on a port where nothing listens.
    nowhere = f"postgres://postgres@127.0.0.1:{free_port()}/{DATABASE}"
    server = Gunicorn({**env, "DATABASE_URL": nowhere}, tmp, "nodb")
    try:
        if not check("gunicorn starts with the database down", server.wait_until_up(30)):
            return
        status, _, body = call(server, "GET", "/ready")
        check(
            "/ready answers 503 when the database is unreachable",
            status == 503 and json.loads(body).get("failed") == ["database"],
            f"{status} {body.decode()}",
        )
        check("/health still answers 200", call(server, "GET", "/health")[0] == 200)
    finally:
        server.stop()


def smoke(tmp: Path, database_url: str) -> None:
    env = production_env(
        tmp, database_url=database_url, redis_url=REDIS_URL, metrics_token=METRICS_TOKEN
    )
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
    server = Gunicorn(env, tmp, "web")
    try:
        if check("gunicorn starts", server.wait_until_up(30)):
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
        database = Database(POSTGRES_URL, DATABASE)
        try:
            smoke(tmp, database.create())
        finally:
            database.drop()

        code = summary("Smoke test")
        if code:
            for name in ("web.stderr", "nodb.stderr"):
                path = tmp / name
                if path.exists():
                    print(f"--- {name} (last lines)")
                    print("\n".join(path.read_text().splitlines()[-20:]))
        return code


if __name__ == "__main__":
    sys.exit(main())
