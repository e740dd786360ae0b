"""gunicorn as the image runs it: the Dockerfile's CMD, on a free loopback port."""

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from . import ROOT
from .client import Answer, request
from .image import image_command
from .ports import free_port


class Gunicorn:
    """The image's CMD (`app` swaps its WSGI application) in its own process group, its
    stdout (the access log) and stderr in `folder`/`name`.stdout and .stderr."""

    def __init__(self, env: dict[str, str], folder: Path, name: str = "gunicorn", app=None):
        self.port = free_port()
        self.answered = 0  # HTTP answers received through request()
        self.stdout = folder / f"{name}.stdout"
        self.stderr = folder / f"{name}.stderr"
        command = image_command()
        if app:
            command[-1] = app
        env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            # Only gunicorn gets a metrics folder: commands run with `env` would write there too.
            "PROMETHEUS_MULTIPROC_DIR": str(folder / f"{name}-prometheus"),
        }
        with self.stdout.open("w") as out, self.stderr.open("w") as err:
            self.process = subprocess.Popen(  # noqa: S603 (the Dockerfile's CMD)
                command, cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True
            )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def request(self, method, path, token=None, body=None, headers=None, timeout=30) -> Answer:
        answer = request(self.port, method, path, token, body, headers, timeout)
        self.answered += answer.status is not None
        return answer

    def workers(self) -> list[int]:
        """The worker processes' ids, now."""
        pid = self.process.pid
        try:
            return sorted(
                int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            )
        except OSError:
            return []

    def wait_until_up(self, seconds: float = 60, workers: int = 0) -> bool:
        """Whether /health answered 200 (with `workers` workers running) within `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            if len(self.workers()) >= workers and self.request("GET", "/health").ok:
                return True
            time.sleep(0.2)
        return False

    def tail(self, lines: int = 20) -> str:
        """The last lines of its stderr (the server's and the application's log)."""
        if not self.stderr.exists():
            return ""
        return "\n".join(self.stderr.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> int | None:
        """SIGTERM, as Kubernetes sends it; its exit code (None if it had to be killed).
        Whatever is left of its process group is killed."""
        code = self.process.poll()
        if code is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                code = self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                code = None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        return code


def json_lines(path: Path) -> tuple[list[dict], list[str]]:
    """A log's JSON lines, parsed, and the lines that are not JSON."""
    parsed, other = [], []
    for line in path.read_text().splitlines():
        try:
            parsed.append(json.loads(line))
        except ValueError:
            other.append(line)
    return parsed, other
