"""What the benchmark measures: the API's scenarios beside the references that read the
same rows (bench/views.py, bench/bare.py), webhook deliveries, and authentication."""

import json
import subprocess
import sys
import time

from harness import PYTHON, ROOT, wrk
from harness.workers import CeleryProcess

from .load import HTTPS, Server, measure, measure_loaded_and_alone

PAGE = "page_size=50"

# The status transition: each wrk thread works its own slice of the keys, so no key is
# ever in flight twice; each request moves its issue to the status it is not in.
TOGGLE = """
local threads = 0
function setup(thread) thread:set('tid', threads); threads = threads + 1 end
local i, state = 0, {}
request = function()
  local per = math.floor(#keys / nthreads)
  i = i % per + 1
  local key = keys[tid * per + i]
  local target = state[key] == 'in_progress' and 'open' or 'in_progress'
  return wrk.format('POST', '/api/v1/issues/' .. key .. '/status', nil,
    '{"status": "' .. target .. '"}')
end
-- The status comes from the answer, not from what was asked: wrk calls request()
-- once before the run to check it, and that request is never sent.
observe = function(status, body)
  local key, now = body:match('"key":"([^"]+)".-"status":"([^"]+)"')
  if key then state[key] = now end
end"""


def run_python(args: list[str], env: dict, capture=False) -> subprocess.CompletedProcess:
    """`python <args>` in the repository with `env`; fails loudly."""
    return subprocess.run(  # noqa: S603 (our own modules)
        [PYTHON, *args], cwd=ROOT, env=env, check=True, text=True, capture_output=capture
    )


def wanted(name: str, args) -> bool:
    """Whether --only selects the scenario `name`."""
    return not args.only or any(part in name for part in args.only.split(","))


def scenarios(facts: dict) -> list[tuple[str, dict]]:
    """(name, wrk script arguments); `auth` marks those sent with the caller's token,
    `toggle` the issues a transition scenario moves back and forth, `before` what to do
    first."""
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
    api = f"/api/v1/issues?{PAGE}"
    inbox_floor, files_floor = "/bench/floor/notifications", "/bench/floor/attachments"
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
        ("data floor, blocked (reference)", {"path": f"{floor}&blocked=1&count=1"}),
        (
            "data floor, sub-issues (reference)",
            {"path": f"{floor}&parent={facts['parent_id']}&count=1"},
        ),
        ("data floor, inbox (reference)", {"path": f"{inbox_floor}?user={facts['caller_id']}"}),
        (
            "data floor, files of an issue (reference)",
            {"path": f"{files_floor}?user={facts['caller_id']}&issue={busy}"},
        ),
        ("naive DRF baseline (reference)", {"path": "/bench/naive/issues", "auth": True}),
        ("issue list, page numbers", {"path": api, "auth": True}),
        ("issue list, cursor", {"path": f"{api}&cursor=", "auth": True}),
        ("issue list, filtered + sorted", {"path": f"{api}&{filtered}", "auth": True}),
        (
            f"issue list, cursor page {facts['deep_page']:,}",
            {"path": f"{api}&cursor={facts['deep_cursor']}", "auth": True},
        ),
        ("issue list, blocked=true", {"path": f"{api}&blocked=true", "auth": True}),
        ("issue list, parent=", {"path": f"{api}&parent={facts['parent_key']}", "auth": True}),
        ("search, selective word", {"path": f"{api}&search={SELECTIVE_WORD}", "auth": True}),
        ("search, common word", {"path": f"{api}&search={COMMON_WORD}", "auth": True}),
        (
            "search, common word, cursor",
            {"path": f"{api}&search={COMMON_WORD}&cursor=", "auth": True},
        ),
        (
            "issue detail",
            {"paths": [f"/api/v1/issues/{k}" for k in facts["detail_keys"]], "auth": True},
        ),
        ("inbox, first page", {"path": f"/api/v1/me/notifications?{PAGE}", "auth": True}),
        (
            "files of an issue",
            {"path": f"/api/v1/issues/{busy}/attachments?{PAGE}", "auth": True},
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


def script(spec: dict, token=None) -> str:
    """The wrk script of a scenario's `spec` (scenarios()); `token()` gives the bearer
    token of those sent with one."""
    spec = dict(spec)
    headers = dict(HTTPS)
    if spec.pop("auth", False):
        headers["Authorization"] = f"Bearer {token()}"
    spec.pop("before", None)
    if "body" in spec:
        spec["body"] = json.dumps(spec["body"])
    keys = spec.pop("toggle", None)
    if keys:
        headers["Content-Type"] = "application/json"
        spec["lua"] = "local keys = {" + ", ".join(map(wrk.lua_string, keys)) + "}" + TOGGLE
    return wrk.script(headers, **spec)


def measure_api(server, facts, args, tmp, *, token, database_url, subscribe) -> list[dict]:
    """Every scenario --only selects, on the API's server; `token()` logs the caller in
    afresh for each that needs it, `subscribe()` adds the webhooks."""
    results = []
    for name, spec in scenarios(facts):
        if not wanted(name, args):
            continue
        reset = reopen(spec["toggle"], database_url) if "toggle" in spec else None
        if spec.get("before") == "subscribe":
            subscribe()
        lua = script(spec, token)
        results.append(measure_loaded_and_alone(server, name, lua, args, tmp, reset))
    return results


def bare_scenarios(facts: dict) -> list[tuple[str, str | list[str]]]:
    """The bare WSGI floor's references (bench/bare.py): (name, path or paths), the same
    reads as the data floors'."""
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


def measure_bare(env: dict, tmp, facts: dict, token: str, args) -> list[dict]:
    """The bare WSGI floor (bench/bare.py) in a gunicorn of its own, configured alike."""
    bare = Server(env, tmp, "bare", app="bench.bare:application")
    results = []
    try:
        bare.start()
        headers = {**HTTPS, "Authorization": f"Bearer {token}"}
        for name, path in bare_scenarios(facts):
            if not wanted(name, args):
                continue
            where = {"paths": path} if isinstance(path, list) else {"path": path}
            lua = wrk.script(headers, **where)
            results.append(measure_loaded_and_alone(bare, name, lua, args, tmp))
        return results
    finally:
        bare.stop()


# Where one machine's cores are outgrown: the same reads served by 2 and by 4 processes.
SCALING = ("issue list, cursor", "issue detail")


def measure_scaling(env: dict, tmp, facts: dict, args) -> dict:
    """SCALING's scenarios served by gunicorn with 2 and with 4 worker processes (4 threads
    each) against the same PostgreSQL, on the same two cores, with wrk's connections; the
    servers measured A B B A so drift cancels, each server started afresh."""
    from bench.seed import PASSWORD

    specs = dict(scenarios(facts))
    figures = {name: {2: [], 4: []} for name in SCALING if wanted(name, args)}
    for processes in (2, 4, 4, 2):
        server = Server({**env, "WEB_CONCURRENCY": str(processes)}, tmp, f"web{processes}")
        try:
            server.start()
            token = login(server, facts["caller"], PASSWORD)
            for name in figures:
                label = f"{name}, {processes} processes"
                lua = script(specs[name], lambda token=token: token)
                result = measure(server, label, lua, args, tmp)
                figures[name][processes].append(result["rps"])
        finally:
            server.stop()
    return {
        name: {f"rps_{n}": round(sum(rounds[n]) / len(rounds[n]), 1) for n in (2, 4)}
        | {"ratio": round(sum(rounds[4]) / sum(rounds[2]), 2)}
        for name, rounds in figures.items()
    }


def measure_deliveries(env: dict, tmp, receiver, seconds: float) -> dict:
    """Deliveries per second of one Celery worker process (prefork, concurrency 1), working
    off the deliveries of the events the webhooks scenario made (relayed first, the
    broker's queue emptied of everything else): one signed POST per subscribed webhook to
    the receiver. Counted at the receiver over `seconds`, after the worker's first."""
    queued = json.loads(run_python(["-m", "bench.hooks", "relay"], env, True).stdout)
    worker = CeleryProcess(
        env, tmp, "celery", "worker", "--concurrency=1", "--loglevel=WARNING",
        "--without-gossip", "--without-mingle",
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while receiver.received == 0:
            if worker.process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the Celery worker delivered nothing; its log:\n{worker.tail(100)}")
            time.sleep(0.1)
        time.sleep(2)  # warmed up
        before, started = receiver.received, time.monotonic()
        time.sleep(seconds)
        after, elapsed = receiver.received, time.monotonic() - started
        statuses = json.loads(run_python(["-m", "bench.hooks", "deliveries"], env, True).stdout)
    finally:
        worker.close(30)
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


def measure_auth(server: Server, facts: dict, token: str, args, tmp) -> dict:
    """Authentication overhead: one connection, so the median is a request's own time.
    A JWT (RS256) and a personal access token (trk_) reach the same answer."""
    auth = {"path": "/api/v1/ (API root)"}
    for label, headers in (
        ("with_token", {**HTTPS, "Authorization": f"Bearer {token}"}),
        ("with_pat", {**HTTPS, "Authorization": f"Bearer {facts['pat']}"}),
        ("without_token", HTTPS),
    ):
        name = f"api root, {label.replace('_', ' ')}"
        r = measure(server, name, wrk.script(headers, path="/api/v1/"), args, tmp, 1, 1)
        auth[f"{label}_p50_ms"] = r["p50_ms"]
        auth[f"{label}_sql"] = r["sql_per_request"]
    auth["overhead_ms"] = round(auth["with_token_p50_ms"] - auth["without_token_p50_ms"], 2)
    auth["pat_overhead_ms"] = round(auth["with_pat_p50_ms"] - auth["without_token_p50_ms"], 2)
    return auth


def reopen(keys: list[str], database_url: str):
    """A function that puts the issues `keys` back to open, as the transition scenario
    expects (wrk's script alternates in_progress and open from there)."""
    import psycopg

    def run() -> None:
        with psycopg.connect(database_url) as conn:
            conn.execute(
                "UPDATE issues_issue i SET status = 'open', resolution = ''"
                " FROM projects_project p WHERE p.id = i.project_id"
                " AND p.key || '-' || i.number = ANY(%s)",
                [keys],
            )

    return run


def login(server: Server, username: str, password: str) -> str:
    answer = server.call(
        "POST", "/api/v1/auth/login", {"username": username, "password": password}
    )
    if answer.status != 200:
        sys.exit(f"login failed: {answer.status} {answer.raw[:300]!r}")
    return answer.body["access_token"]
