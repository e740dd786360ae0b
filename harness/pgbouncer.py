"""A throwaway PgBouncer in transaction pooling mode, for tests/deploy/test_pgbouncer.py,
scripts/resilience.py --pgbouncer and bench/run.py --pgbouncer.

It listens on a free loopback port, lets any client in without a password (loopback only)
and logs in to the PostgreSQL server of `server_url` as that URL's user. A small pool
(`pool_size` server connections per database) makes every server connection serve many
clients, so anything that wrongly outlives a transaction shows up at once.
"""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .ports import free_port

BINARY_PATHS = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")


def binary() -> str | None:
    """The pgbouncer executable, or None when it is not installed."""
    return shutil.which("pgbouncer") or next(
        (path for path in BINARY_PATHS if os.access(path, os.X_OK)), None
    )


class PgBouncer:
    """PgBouncer in `folder` (created), pooling transactions to `server_url`'s server."""

    def __init__(self, folder: Path, server_url: str, pool_size: int = 4, clients: int = 200):
        self.folder = folder
        self.port = free_port()
        self.server = urlsplit(server_url)
        self.process = None
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "pgbouncer.ini"
        self.log = folder / "pgbouncer.log"
        target = f"host={self.server.hostname} port={self.server.port or 5432}"
        self.config.write_text(
            "[databases]\n"
            f"* = {target} user={self.server.username or 'postgres'}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            # "any": no password asked, the [databases] user logs in. Loopback only.
            "auth_type = any\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\n"
            f"max_client_conn = {clients}\n"
            f"logfile = {self.log}\n"
            # Sent by some clients at login; PgBouncer would otherwise refuse them.
            "ignore_startup_parameters = extra_float_digits,options\n"
        )

    def start(self, seconds: float = 10) -> None:
        executable = binary()
        if executable is None:
            raise RuntimeError("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
        # PgBouncer refuses to run as root: as root, run it as the postgres user.
        user = "postgres" if os.geteuid() == 0 else None
        if user:
            shutil.chown(self.folder, user, user)
        self.process = subprocess.Popen(  # noqa: S603 (pgbouncer, our config)
            [executable, str(self.config)],
            cwd=self.folder,
            user=user,
            group=user,
            extra_groups=[] if user else None,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError(f"pgbouncer did not start:\n{self.tail()}")

    def url(self, database: str) -> str:
        """A URL of `database` through this PgBouncer."""
        user = self.server.username or "postgres"
        return urlunsplit(("postgres", f"{user}@127.0.0.1:{self.port}", f"/{database}", "", ""))

    def tail(self, lines: int = 20) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text().splitlines()[-lines:])

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
