#!/usr/bin/env python
"""Use the API as a third-party client would: through a client generated from openapi.yaml.

openapi-python-client generates a typed Python client from the committed schema alone, and
this script drives a user's whole flow through it against the service as production runs it
(scripts/smoke_production.py's gunicorn, production settings, a PostgreSQL database of its
own, `tracker_client_<pid>`, dropped at the end): register, log in, create a project, an
issue, take it through the workflow, comment, a conditional GET answered 304, a stale
If-Match answered 412, and a list with an unknown query parameter answered 400.

The client is built with `raise_on_unexpected_status=True`, so any answer the schema does
not declare fails the run, and every answer must parse into the model the schema names for
its status. Operations are found by method and path (not by generated name), so renaming an
operation id does not break the flow; changing a path or a body does, as it would break
every generated client.

    .venv/bin/python scripts/client_flow.py        # needs requirements/ci.txt installed

SMOKE_POSTGRES_URL says where the database is created, as for the smoke test;
CLIENT_FLOW_REDIS_URL defaults to redis://127.0.0.1:6379/6, a Redis database this script
empties. CLIENT_FLOW_KEEP_DIR keeps the generated client and the server's logs there.
"""

import importlib
import inspect
import os
import re
import secrets
import subprocess
import sys
import tempfile
import typing
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the harness
from harness import ROOT, VENV_BIN, run
from harness.image import HTTPS, migrate_job_command, production_env
from harness.postgres import Database
from harness.server import Gunicorn

POSTGRES_URL = os.environ.get("SMOKE_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DATABASE = f"tracker_client_{os.getpid()}"
REDIS_URL = os.environ.get("CLIENT_FLOW_REDIS_URL", "redis://127.0.0.1:6379/6")  # emptied
PASSWORD = "a long and careful passphrase"  # noqa: S105
PACKAGE = "tracker_client"


class FlowFailed(Exception):
    pass


def generate_client(folder: Path) -> None:
    """openapi-python-client, as a client developer runs it, on the committed schema."""
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(  # noqa: S603 (our own tool)
        [
            str(VENV_BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(ROOT / "openapi.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(folder / PACKAGE),
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    # The generator still writes a client when it skips what it cannot express; a skipped
    # operation or model is a schema a client cannot fully use.
    if done.returncode != 0 or "Warning" in output:
        raise FlowFailed(f"openapi-python-client failed or warned:\n{output}")


class Operations:
    """The generated modules by (METHOD, path template), read from their own source."""

    CALL = re.compile(r'"method": "(\w+)",\s*"url": "([^"]+)"')

    def __init__(self, folder: Path):
        sys.path.insert(0, str(folder))
        self.modules = {}
        for source in sorted((folder / PACKAGE / "api").glob("*/*.py")):
            match = self.CALL.search(source.read_text())
            if match:
                name = ".".join(source.relative_to(folder).with_suffix("").parts)
                self.modules[match[1].upper(), match[2]] = importlib.import_module(name)
        self.models = importlib.import_module(f"{PACKAGE}.models")
        self.errors = importlib.import_module(f"{PACKAGE}.errors")

    def module(self, method: str, path: str):
        try:
            return self.modules[method, path]
        except KeyError:
            raise FlowFailed(f"The generated client has no operation {method} {path}") from None


class Flow:
    """Calls operations through the generated client and checks each answer."""

    def __init__(self, operations: Operations, base_url: str):
        client = importlib.import_module(f"{PACKAGE}.client")
        self.operations = operations
        self.anonymous = client.Client(
            base_url=base_url, headers=HTTPS, raise_on_unexpected_status=True
        )
        self.client = self.anonymous
        self.steps = 0

    def sign_in(self, token: str) -> None:
        client = importlib.import_module(f"{PACKAGE}.client")
        self.client = client.AuthenticatedClient(
            base_url=self.client._base_url,
            token=token,
            headers=HTTPS,
            raise_on_unexpected_status=True,
        )

    def call(self, method, path, expect, *, body=None, extra_query=None, **kwargs):
        """One operation; the answer must have status `expect` and parse into a model
        (None for a body-less answer such as 304)."""
        module = self.operations.module(method, path)
        if body is not None:
            kwargs["body"] = self._body(module, body)
        if extra_query:
            # What a typed client cannot send by design: a parameter the schema does not
            # have. The request goes through the generated client's own pieces.
            request = module._get_kwargs(**kwargs)
            request["params"] = {**request.get("params", {}), **extra_query}
            http = self.client.get_httpx_client().request(**request)
            response = module._build_response(client=self.client, response=http)
        else:
            try:
                response = module.sync_detailed(client=self.client, **kwargs)
            except self.operations.errors.UnexpectedStatus as e:
                raise FlowFailed(
                    f"{method} {path}: status {e.status_code} is not in the schema: "
                    f"{e.content[:500]!r}"
                ) from None
        self.steps += 1
        label = f"{method} {path} -> {int(response.status_code)}"
        if response.status_code != expect:
            raise FlowFailed(f"{label}, expected {expect}: {response.content[:500]!r}")
        parsed = response.parsed
        if expect == 304:
            if parsed is not None or response.content:
                raise FlowFailed(f"{label}: a 304 has no body, got {response.content!r}")
        elif expect >= 400:
            if not isinstance(parsed, self.operations.models.Problem):
                raise FlowFailed(f"{label}: not parsed as a Problem: {parsed!r}")
        elif expect != 204 and (parsed is None or isinstance(parsed, str)):
            raise FlowFailed(f"{label}: the answer did not parse into a model: {parsed!r}")
        print(f"  ok  {label}")
        return response

    @staticmethod
    def _body(module, data: dict):
        """The operation's request model built from `data`, as a typed client would."""
        annotation = inspect.signature(module.sync_detailed).parameters["body"].annotation
        # A model, or for an optional body (PATCH) `Model | Unset`.
        for model in (annotation, *typing.get_args(annotation)):
            if hasattr(model, "from_dict"):
                return model.from_dict(data)
        return data


def user_flow(flow: Flow) -> None:
    suffix = secrets.token_hex(3)
    username = f"client-{suffix}"
    flow.call(
        "POST",
        "/api/v1/auth/register",
        201,
        body={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
    )
    tokens = flow.call(
        "POST", "/api/v1/auth/login", 200, body={"username": username, "password": PASSWORD}
    ).parsed
    flow.sign_in(tokens.access_token)
    me = flow.call("GET", "/api/v1/me", 200).parsed
    if me.username != username:
        raise FlowFailed(f"/me is {me.username!r}, not {username!r}")

    key = f"C{suffix.upper()}"[:10]
    project = flow.call(
        "POST", "/api/v1/projects", 201, body={"key": key, "name": "Generated client"}
    ).parsed
    issue = flow.call(
        "POST",
        "/api/v1/projects/{project_key}/issues",
        201,
        project_key=project.key,
        body={"title": "Made by a generated client", "type": "bug", "assignee": username},
    ).parsed

    # A conditional read: the ETag of the first answer makes the second a 304.
    first = flow.call("GET", "/api/v1/issues/{issue_key}", 200, issue_key=issue.key)
    etag = first.headers.get("ETag")
    if not etag:
        raise FlowFailed("GET /api/v1/issues/{issue_key} sent no ETag")
    flow.call("GET", "/api/v1/issues/{issue_key}", 304, issue_key=issue.key, if_none_match=etag)

    # The workflow, owner of the project and assignee of the issue at once.
    for target, extra in (
        ("in_progress", {}),
        ("in_review", {}),
        ("resolved", {"resolution": "fixed"}),
        ("closed", {}),
        ("open", {"comment": "Still seen on Safari."}),
    ):
        moved = flow.call(
            "POST",
            "/api/v1/issues/{issue_key}/status",
            200,
            issue_key=issue.key,
            body={"status": target, **extra},
        ).parsed
        if str(moved.status) != target and getattr(moved.status, "value", None) != target:
            raise FlowFailed(f"the issue is {moved.status!r} after moving it to {target!r}")

    comment = flow.call(
        "POST",
        "/api/v1/issues/{issue_key}/comments",
        201,
        issue_key=issue.key,
        body={"body": "Reproduced with the generated client."},
    ).parsed
    comments = flow.call(
        "GET", "/api/v1/issues/{issue_key}/comments", 200, issue_key=issue.key
    ).parsed
    if comment.id not in [c.id for c in comments.results]:
        raise FlowFailed("the new comment is not in the issue's comment list")

    # A stale If-Match: the issue changed since `etag` was read, so nothing is saved.
    flow.call(
        "PATCH",
        "/api/v1/issues/{issue_key}",
        412,
        issue_key=issue.key,
        if_match=etag,
        body={"title": "A lost update"},
    )
    unchanged = flow.call("GET", "/api/v1/issues/{issue_key}", 200, issue_key=issue.key).parsed
    if unchanged.title != "Made by a generated client":
        raise FlowFailed(f"a refused update changed the title to {unchanged.title!r}")

    # A typo in a filter is refused, never answered with the unfiltered list.
    refused = flow.call("GET", "/api/v1/issues", 400, extra_query={"assigne": "me"}).parsed
    if "assigne" not in refused.detail:
        raise FlowFailed(f"the 400 does not name the unknown parameter: {refused.detail!r}")
    listed = flow.call("GET", "/api/v1/issues", 200, assignee="me").parsed
    if [i.key for i in listed.results] != [issue.key]:
        raise FlowFailed(f"?assignee=me lists {[i.key for i in listed.results]}")

    token_flow(flow, project_key=project.key, issue_key=issue.key)


def token_flow(flow: Flow, *, project_key: str, issue_key: str) -> None:
    """A few calls again as a script would make them: with a personal access token that
    may comment in one project, then revoked."""
    created = flow.call(
        "POST",
        "/api/v1/me/tokens",
        201,
        body={"name": "client flow", "scopes": ["comments:write"], "projects": [project_key]},
    ).parsed
    login_client = flow.client
    flow.sign_in(created.token)
    flow.call("GET", "/api/v1/issues/{issue_key}", 200, issue_key=issue_key)
    flow.call(
        "POST",
        "/api/v1/issues/{issue_key}/comments",
        201,
        issue_key=issue_key,
        body={"body": "Posted with a personal access token."},
    )
    refused = flow.call(
        "PATCH", "/api/v1/issues/{issue_key}", 403, issue_key=issue_key, body={"title": "No"}
    ).parsed
    if "issues:write" not in refused.detail:
        raise FlowFailed(f"the 403 does not name the missing scope: {refused.detail!r}")
    flow.client = login_client
    flow.call("DELETE", "/api/v1/me/tokens/{token_id}", 204, token_id=created.id)
    flow.sign_in(created.token)
    flow.call("GET", "/api/v1/me", 401)
    flow.client = login_client


def main() -> int:
    keep = os.environ.get("CLIENT_FLOW_KEEP_DIR")
    with tempfile.TemporaryDirectory(prefix="client-flow-") as tmp_name:
        tmp = Path(keep or tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        redis.Redis.from_url(REDIS_URL).flushdb()
        database = Database(POSTGRES_URL, DATABASE)
        database_url = database.create()
        server = None
        try:
            generate_client(tmp)
            print(f"Generated {PACKAGE} from openapi.yaml with openapi-python-client")
            operations = Operations(tmp)
            env = production_env(tmp, database_url=database_url, redis_url=REDIS_URL)
            (tmp / "static").mkdir(exist_ok=True)  # WhiteNoise warns about a missing one
            done = run(migrate_job_command(), env)
            if done.returncode != 0:
                raise FlowFailed(f"migrate failed:\n{done.stdout}{done.stderr}")
            server = Gunicorn(env, tmp, "web")
            if not server.wait_until_up(30):
                raise FlowFailed("gunicorn did not start: " + server.stderr.read_text()[-2000:])
            flow = Flow(operations, f"http://127.0.0.1:{server.port}")
            user_flow(flow)
        except FlowFailed as failure:
            print(f"FAILED: {failure}")
            if server is not None:
                print("--- web.stderr (last lines)")
                print(server.tail())
            return 1
        finally:
            if server is not None:
                server.stop()
            database.drop()
        print(f"Generated-client flow: {flow.steps} calls, each answered as the schema says")
        return 0


if __name__ == "__main__":
    sys.exit(main())
