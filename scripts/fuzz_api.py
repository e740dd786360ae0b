#!/usr/bin/env python
"""Fuzz the running service against its own contract with schemathesis.

Started as scripts/smoke_production.py starts it (production settings, the Dockerfile's
gunicorn command, a fresh PostgreSQL database migrated by the migration Job's command),
on a database of its own (`tracker_fuzz_<pid>`, dropped at the end) and Redis database 7.
The script registers a user, logs in, creates seed data (an internal and a private
project, a label, a second member, an issue and a comment), downloads the live schema from
/api/v1/schema/ and runs schemathesis on every operation with that user's bearer token: a
fixed seed, a bounded number of examples per operation, every check, and the stateful
phase that follows the schema's links (create project -> create issue -> transition it ->
comment ...). After one pass of every phase, fuzzing and link scenarios repeat until the
time budget (FUZZ_MAX_SECONDS, 210 s) is spent.

It passes when there is no 5xx, no response that violates the schema and no accepted
request the schema calls invalid; it prints the figures (operations fuzzed, requests
sent, 5xx seen, schema violations, the stateful chain reached) and exits non-zero on any
failure. FUZZ_KEEP_DIR keeps the server's logs and schemathesis's report there.

    .venv/bin/python scripts/fuzz_api.py

FUZZ_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres) is where the
database is created; FUZZ_REDIS_URL defaults to redis://127.0.0.1:6379/7, a Redis database
this script empties. FUZZ_SEED, FUZZ_MAX_EXAMPLES, FUZZ_STATEFUL_EXAMPLES and
FUZZ_MAX_SECONDS change the seed, the examples per operation, the link scenarios and the
time budget.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import redis

# The smoke test's way of starting the service: same environment, same command.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness
from harness import VENV_BIN, run
from harness.image import HOST, HTTPS, migrate_job_command, production_env
from harness.postgres import Database
from harness.server import Gunicorn, json_lines

POSTGRES_URL = os.environ.get("FUZZ_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("FUZZ_REDIS_URL", "redis://127.0.0.1:6379/7")
DATABASE = f"tracker_fuzz_{os.getpid()}"  # its own, so runs side by side do not collide
SEED = int(os.environ.get("FUZZ_SEED", "20230605"))
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "20"))  # per operation and phase
STATEFUL_EXAMPLES = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", "150"))  # link scenarios
MAX_SECONDS = int(os.environ.get("FUZZ_MAX_SECONDS", "210"))  # then fuzzing stops
# Failure types (schemathesis's names) that mean a response the contract does not describe.
SCHEMA_VIOLATIONS = {
    "JsonSchemaError",
    "UndefinedStatusCode",
    "UndefinedContentType",
    "MissingContentType",
    "MissingHeaders",
    "MalformedJson",
}
# schemathesis.toml. Every check runs on every operation; where a check's idea of the right
# answer cannot hold for this API, the exception is written here with its reason.
CONFIG = """
[cache]
enabled = false

[generation]
max-examples = MAX_EXAMPLES

# Half the time, names that exist (the seed data's users, projects and labels) instead of
# random text, so creations succeed and the stateful phase has objects to follow links from.
[dictionaries.users]
values = ["fuzzer", "colleague"]
[dictionaries.projects]
values = ["FUZZ", "SECRET"]
[dictionaries.labels]
values = ["bug"]
[dictionaries.any_tag]
values = ["*"]
[dictionaries.resolutions]
values = ["fixed"]

[parameters]
"body.assignee" = { dictionary = "users", probability = 0.5 }
"body.username" = { dictionary = "users", probability = 0.5 }
"body.project" = { dictionary = "projects", probability = 0.5 }
"body.labels[*]" = { dictionary = "labels", probability = 0.5 }
"query.assignee" = { dictionary = "users", probability = 0.5 }
"query.reporter" = { dictionary = "users", probability = 0.5 }
"query.author" = { dictionary = "users", probability = 0.5 }
"query.actor" = { dictionary = "users", probability = 0.5 }
# A random If-Match is a 412 (that is tested too); `*` lets the write go ahead.
"header.If-Match" = { dictionary = "any_tag", probability = 0.5 }
# Closing needs a resolution: give one more often than chance would.
"body.resolution" = { dictionary = "resolutions", probability = 0.5 }

# Scenarios that follow the schema's links: create a project, an issue in it, move it
# through the workflow, comment, edit, delete ...
[phases.stateful]
max-steps = 12
# Only the links the schema documents: inferred ones (136 more) thin out the scenarios.
inference.algorithms = []
[phases.stateful.generation]
max-examples = STATEFUL_EXAMPLES

[checks.positive_data_acceptance]
# 412: If-Match may carry any tag, and a tag that is not the resource's current one is a 412
# (RFC 9110); no schema can say which tag is current.
# 414: a URL longer than the HTTP server's request-line limit is refused before the app.
# 422: an Idempotency-Key (any string) used before with another body (creates only).
expected-statuses = [
  "2xx", "3xx", "401", "403", "404", "409", "412", "414", "422", "429", "5xx",
]

[checks.negative_data_rejection]
# The defaults, plus 412 (If-Match is checked first: RFC 9110 evaluates preconditions before
# the method, so a stale tag refuses the request whatever its body), 413 (body over the size
# limit) and 414 (URL over the request-line limit).
expected-statuses = [
  "400", "401", "403", "404", "405", "406", "409", "412", "413", "414", "415", "422", "428",
  "429", "5xx",
]

# Operations whose schema-valid input can still be refused with 400 because its validity
# depends on stored data: it names users, projects or labels that may not exist, must be
# unique (usernames, emails, project keys, label names), must keep a project's last
# owner, needs what the issue's current status asks for (a comment, a resolution), or is a
# cursor only the server can sign. A schema cannot say any of that, so here 400 counts as
# an answer to valid input; the other checks still run on these operations.
[[operations]]
include-name = [
  "GET /api/v1/issues",
  "GET /api/v1/projects/{project_key}/issues",
  "GET /api/v1/issues/{issue_key}/comments",
  "GET /api/v1/issues/{issue_key}/events",
  "GET /api/v1/events",
  "POST /api/v1/issues",
  "POST /api/v1/projects/{project_key}/issues",
  "PATCH /api/v1/issues/{issue_key}",
  "POST /api/v1/issues/{issue_key}/status",
  # Names another issue that may not exist or be visible, or the issue itself.
  "POST /api/v1/issues/{issue_key}/relations",
  "GET /api/v1/issues/{issue_key}/relations",
  "GET /api/v1/issues/{issue_key}/attachments",
  "GET /api/v1/comments/{comment_id}/attachments",
  "POST /api/v1/auth/register",
  "PATCH /api/v1/me",
  "POST /api/v1/projects",
  "PATCH /api/v1/projects/{project_key}",
  "POST /api/v1/projects/{project_key}/labels",
  "PATCH /api/v1/projects/{project_key}/labels/{label_id}",
  "POST /api/v1/projects/{project_key}/members",
  "PATCH /api/v1/projects/{project_key}/members/{username}",
  "DELETE /api/v1/projects/{project_key}/members/{username}",
  "POST /api/v1/me/tokens",
  "POST /api/v1/projects/{project_key}/bots",
  "POST /api/v1/projects/{project_key}/bots/{username}/tokens",
  # A webhook's URL must resolve to a public address, which only DNS can tell.
  "POST /api/v1/projects/{project_key}/webhooks",
  "PATCH /api/v1/projects/{project_key}/webhooks/{webhook_id}",
  # A username or an email address is required: one object cannot say "one of these two"
  # without an anyOf, which generated clients type as Any.
  "POST /api/v1/auth/login",
  # Notifications: the inbox's `project` names a project; `before` may not be in the
  # future, which depends on the clock.
  "GET /api/v1/me/notifications",
  "POST /api/v1/me/notifications/mark-read",
  # An export's filters name users and labels, as the issue list's query does.
  "POST /api/v1/projects/{project_key}/exports",
  # An import is judged by its file's content (UTF-8, the format's syntax, each record's
  # rules), which the schema can only call binary.
  "POST /api/v1/projects/{project_key}/imports",
  # A bulk edit names issues, users and labels that may not exist; in its atomic mode one
  # issue that cannot change is a 400 for the whole batch; and a key may not be listed twice.
  "POST /api/v1/issues/bulk",
]
checks.positive_data_acceptance.expected-statuses = [
  "2xx", "3xx", "400", "401", "403", "404", "409", "412", "414", "422", "429", "5xx",
]

# Uploads as multipart/form-data: a form carries only text and bytes, so a part the
# fuzzer calls schema-violating (digits where the schema says a string, bytes where it
# says binary) arrives exactly as a valid one does, and accepting it (201) is right. (The
# run selects every check on its command line, which a per-operation `enabled = false`
# cannot override.) Their JSON bodies, a two-step upload's promise, are still refused when
# invalid (400), and the unit tests check each field.
[[operations]]
include-name = [
  "POST /api/v1/issues/{issue_key}/attachments",
  "POST /api/v1/comments/{comment_id}/attachments",
]
checks.negative_data_rejection.expected-statuses = [
  "201", "400", "401", "403", "404", "405", "406", "409", "412", "413", "414", "415", "422",
  "428", "429", "5xx",
]
"""
PASSWORD = "fuzzing is a long passphrase"  # noqa: S105


def fuzz_env(tmp: Path, database_url: str) -> dict[str, str]:
    env = production_env(tmp, database_url=database_url, redis_url=REDIS_URL)
    return {
        **env,
        # The fuzzer is one client sending thousands of requests a minute: at the
        # production limits most answers would be 429s and nothing else would be tested.
        "THROTTLE_USER": "1000000/hour",
        "THROTTLE_LOGIN": "100000/min",
        "THROTTLE_REGISTER": "100000/min",
        "THROTTLE_REFRESH": "100000/min",
        # Its made-up logins fail; at the production limit every login after the 20th would
        # be the lockout's 429.
        "LOGIN_FAILURES_PER_ADDRESS": "100000",
        "LOGIN_FAILURES_PER_ACCOUNT": "100000",
    }


class Api:
    """JSON calls to the server as the ingress forwards them, failing loudly."""

    def __init__(self, server: Gunicorn, token: str | None = None):
        self.server, self.token = server, token

    def call(self, method: str, path: str, body=None, expect: int = 200):
        answer = self.server.request(method, path, self.token, body, HTTPS)
        if answer.status != expect:
            raise RuntimeError(f"{method} {path}: {answer.status} {answer.raw[:300]!r}")
        return answer.body


def seed(server: Gunicorn) -> str:
    """Users and data for the fuzzer to find; returns the fuzzing user's access token."""
    anonymous = Api(server)
    for name in ("fuzzer", "colleague"):
        user = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        anonymous.call("POST", "/api/v1/auth/register", user, expect=201)
    login = {"username": "fuzzer", "password": PASSWORD}
    token = anonymous.call("POST", "/api/v1/auth/login", login)["access_token"]
    api = Api(server, token)
    for key, visibility in (("FUZZ", "internal"), ("SECRET", "private")):
        project = {"key": key, "name": f"{key} project", "visibility": visibility}
        api.call("POST", "/api/v1/projects", project, expect=201)
        api.call("POST", f"/api/v1/projects/{key}/labels", {"name": "bug"}, expect=201)
    member = {"username": "colleague", "role": "developer"}
    api.call("POST", "/api/v1/projects/FUZZ/members", member, expect=201)
    issue = {"project": "FUZZ", "title": "Seed issue", "assignee": "fuzzer", "labels": ["bug"]}
    key = api.call("POST", "/api/v1/issues", issue, expect=201)["key"]
    api.call("POST", f"/api/v1/issues/{key}/comments", {"body": "A seed comment."}, expect=201)
    return token


def schemathesis_command(schema: Path, port: int, token: str, reports: Path) -> list[str]:
    config = reports.parent / "schemathesis.toml"
    config.write_text(
        CONFIG.replace("STATEFUL_EXAMPLES", str(STATEFUL_EXAMPLES)).replace(
            "MAX_EXAMPLES", str(MAX_EXAMPLES)
        )
    )
    return [
        str(VENV_BIN / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        str(schema),
        "--url",
        f"http://127.0.0.1:{port}",
        "--header",
        f"Authorization: Bearer {token}",
        # What the ingress adds: the public host name and the original scheme.
        "--header",
        f"Host: {HOST}",
        "--header",
        "X-Forwarded-Proto: https",
        "--checks",
        "all",
        "--mode",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--seed",
        str(SEED),
        "--generation-database",
        "none",
        # After one pass of every phase, fuzzing and stateful scenarios repeat (new seeds
        # drawn from SEED) until this much time has passed.
        "--max-time",
        str(MAX_SECONDS),
        "--request-timeout",
        "15",
        # One at a time: the same seed then sends the same requests (Hypothesis is not
        # thread-safe either: two workers hit a CPython SystemError in it).
        "--workers",
        "1",
        "--no-color",
        "--report",
        "json",
        "--report-dir",
        str(reports),
        "--report-json-path",
        str(reports / "run.json"),
    ]


def fuzz(server: Gunicorn, tmp: Path) -> tuple[int | None, int]:
    """Seed, fetch the live schema, run schemathesis: its exit code (None if it hung) and
    how many requests came before it."""
    token = seed(server)
    answer = server.request("GET", "/api/v1/schema/?format=json", headers=HTTPS)
    if answer.status != 200:
        print(f"GET /api/v1/schema/ answered {answer.status}")
        return 1, 0
    schema = tmp / "openapi.json"
    schema.write_bytes(answer.raw)
    command = schemathesis_command(schema, server.port, token, tmp / "reports")
    shown = ["'Authorization: Bearer …'" if "Bearer" in part else part for part in command]
    print("      " + " ".join(shown), flush=True)
    before = len(server.stdout.read_text().splitlines())
    try:
        done = subprocess.run(command, cwd=tmp, timeout=MAX_SECONDS + 120)  # noqa: S603
        return done.returncode, before
    except subprocess.TimeoutExpired:
        print(f"schemathesis ran over {MAX_SECONDS + 120} s and was stopped")
        return None, before


SEEDED = ("FUZZ", "SECRET", "1", "2")  # the seed projects, by key and by id


def stateful_chain(access: list[dict]) -> tuple[int, int, int, int]:
    """From the access log: projects the fuzzer created, issues it created in them, and
    transition requests on those issues that the server answered (any 2xx-4xx: a random
    target is mostly refused by the workflow, and a refusal still exercises the link)."""
    created = Counter()
    for line in access:
        path, status = line.get("path", ""), line.get("status")
        if line.get("method") != "POST":
            continue
        if path == "/api/v1/projects" and status == 201:
            created["projects"] += 1
        elif (match := re.fullmatch(r"/api/v1/projects/([^/]+)/issues", path)) and status == 201:
            created["issues"] += match.group(1).upper() not in SEEDED
        elif (match := re.fullmatch(r"/api/v1/issues/(.+)-\d+/status", path)) and status < 500:
            created["transitions"] += match.group(1).upper() not in SEEDED
            created["moved"] += status == 200 and match.group(1).upper() not in SEEDED
    return created["projects"], created["issues"], created["transitions"], created["moved"]


def report(server: Gunicorn, tmp: Path, seeded: int, exit_code: int | None) -> bool:
    """Print the figures; True if the run passed."""
    access, _ = json_lines(server.stdout)
    fuzzed = access[seeded:]
    chain = stateful_chain(fuzzed)
    statuses = Counter(int(line.get("status") or 0) for line in fuzzed)
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    path = tmp / "reports" / "run.json"
    run_report = json.loads(path.read_text()) if path.exists() else {}
    failures = run_report.get("failures", [])
    violations = sum(f["count"] for f in failures if f["type"] in SCHEMA_VIOLATIONS)
    accepted_invalid = sum(f["count"] for f in failures if f["type"] == "AcceptedNegativeData")
    other = sum(f["count"] for f in failures) - violations - accepted_invalid
    operations = run_report.get("operations") or {}
    tested = operations.get("tested", 0)
    print("\nFuzzing figures")
    print(f"  operations fuzzed            {tested} of {operations.get('total', 0)}")
    print(f"  test cases generated         {run_report.get('test_cases', {}).get('generated', 0)}")
    print(f"  requests sent                {len(fuzzed)}")
    print(f"  5xx seen                     {server_errors}")
    print(f"  schema violations            {violations}")
    print(f"  invalid requests accepted    {accepted_invalid}")
    print(f"  other check failures         {other}")
    print(f"  statuses                     {dict(sorted(statuses.items()))}")
    print(
        f"  stateful chain               {chain[0]} projects created -> {chain[1]} issues "
        f"in them -> {chain[2]} transition requests on those issues ({chain[3]} moved one)"
    )
    if not all(chain[:3]):
        print("FAIL  the stateful phase never went project -> issue -> transition")
    if server_errors:
        print("--- server errors")
        errors, _ = json_lines(server.stderr)
        for line in errors:
            if line.get("level") in ("ERROR", "CRITICAL"):
                print(json.dumps(line)[:3000])
    passed = exit_code == 0 and tested > 0 and all(chain[:3])
    return passed and not server_errors and not failures


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp_name:
        # FUZZ_KEEP_DIR keeps the server logs and reports for a look afterwards.
        tmp = Path(os.environ.get("FUZZ_KEEP_DIR") or tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        database = Database(POSTGRES_URL, DATABASE)
        try:
            env = fuzz_env(tmp, database.create())
            redis.Redis.from_url(REDIS_URL).flushdb()
            done = run(migrate_job_command(), env)
            if done.returncode != 0:
                print(done.stdout + done.stderr)
                return 1
            server = Gunicorn(env, tmp, "fuzz")
            try:
                if not server.wait_until_up(30):
                    print("gunicorn did not start:\n" + server.stderr.read_text()[-3000:])
                    return 1
                exit_code, seeded = fuzz(server, tmp)
            finally:
                server.stop()
            return 0 if report(server, tmp, seeded, exit_code) else 1
        finally:
            database.drop()


if __name__ == "__main__":
    sys.exit(main())
