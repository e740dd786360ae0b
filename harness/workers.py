"""Celery as the deployment runs it: a worker or the beat in its own process group, and a
supervisor that restarts a worker which exits, as Kubernetes (restartPolicy Always) and
Compose (`restart: unless-stopped`) do."""

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from . import PYTHON, ROOT


class CeleryProcess:
    """`celery -A config <args>` in its own process group, its output in `folder`/`name`.log."""

    def __init__(self, env: dict[str, str], folder: Path, name: str, *args: str):
        self.name = name
        self.log_path = folder / f"{name}.log"
        with self.log_path.open("w") as out:
            self.process = subprocess.Popen(  # noqa: S603 (our own worker)
                [PYTHON, "-m", "celery", "-A", "config", *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until(self, text: str, seconds: float = 60) -> bool:
        """Whether `text` showed in its log within `seconds` (" ready." for a worker)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            if text in self.log_path.read_text(errors="replace"):
                return True
            time.sleep(0.2)
        return False

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL to the whole group (the pool's children too), as a container dies."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def close(self, seconds: float = 20) -> None:
        """SIGTERM (a warm shutdown), then SIGKILL to whatever is left of the group."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=seconds)
        self.kill()


class Supervisor:
    """Workers started by `start(name)` (`worker-1`, `worker-2` ...), one at a time: the
    current one is replaced when it exits on its own (noted in `restarts`) or by
    replace(). Polls every half second from start() to close()."""

    def __init__(self, start, on_restart=None):
        self.start_worker = start
        self.on_restart = on_restart or (lambda text: None)
        self.workers = [start("worker-1")]
        self.restarts: list[str] = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    @property
    def current(self) -> CeleryProcess:
        return self.workers[-1]

    def _next(self) -> None:
        self.workers.append(self.start_worker(f"worker-{len(self.workers) + 1}"))

    def _watch(self) -> None:
        while not self.done.wait(0.5):
            with self.lock:
                if self.current.process.poll() is None:
                    continue
                self.restarts.append(
                    f"{self.current.log_path.name} exited {self.current.process.returncode}"
                )
                self.on_restart(self.restarts[-1], f"worker-{len(self.workers) + 1}")
                self._next()

    def start(self) -> None:
        self.thread.start()

    def replace(self) -> None:
        """SIGKILL to the current worker, and a new one."""
        with self.lock:
            self.current.kill()
            self._next()

    def close(self) -> None:
        self.done.set()
        if self.thread.is_alive():
            self.thread.join()
        for worker in self.workers:
            worker.close()
