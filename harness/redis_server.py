"""A throwaway redis-server, which a scenario may stop and start again."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from .ports import free_port


class RedisServer:
    """redis-server on a free loopback port, in memory only, logging to `folder`."""

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
