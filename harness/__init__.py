"""One harness for the tools: the service and what it needs, started on loopback only, on
free ports, and stopped again. bench/run.py, scripts/resilience.py,
scripts/smoke_production.py, scripts/fuzz_api.py, scripts/client_flow.py and
tests/deploy/test_pgbouncer.py are scenarios and a report built on it.

    image.py          what the image runs, read from the files that define it: the
                      Dockerfile's CMD, HEALTHCHECK and collectstatic RUN, the migration
                      Job's command; a pod's environment; development signing keys
    ports.py          free loopback ports
    postgres.py       a throwaway PostgreSQL cluster, or a database of its own on a server
    redis_server.py   a throwaway redis-server
    pgbouncer.py      a throwaway PgBouncer in transaction pooling mode
    server.py         gunicorn as the image runs it, its logs in files
    workers.py        a Celery worker or beat in its own process group, and a supervisor
                      that restarts a worker which exits
    stack.py          all of it together: PostgreSQL, Redis, PgBouncer if asked, migrated,
                      served by gunicorn
    receiver.py       a webhook receiver
    client.py         one request and its answer (status, body, headers, timing)
    load.py           a load of users: clients in threads, each a weighted mix of
                      operations, driven for a while with a fault beside them
    wrk.py            wrk, the load that saturates a server: Lua scripts, figures
    report.py         PASS/FAIL checks with their summary, notes, aligned tables

A script run as `python scripts/x.py` or `python bench/run.py` has its own folder on
sys.path, not the repository: it puts the repository there before importing the harness
(`sys.path.insert(0, str(Path(__file__).resolve().parents[1]))`).
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
VENV_BIN = Path(PYTHON).parent


def run(command: list[str] | str, env: dict[str, str], timeout: float = 300):
    """A command in the repository with `env` only, its output captured; a string is a
    shell command (as a Dockerfile's RUN is)."""
    return subprocess.run(  # noqa: S603 (our commands, or the Dockerfile's)
        command,
        shell=isinstance(command, str),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
