"""PostgreSQL for a tool: a throwaway cluster of its own, which a scenario may crash and
restart (Cluster), or a database of its own on a server that runs anyway (Database)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from .ports import free_port

WAIT = ("-w", "-t", "60")  # pg_ctl: until the server is up (or down), at most 60 s


def binaries() -> Path:
    """The folder of initdb and pg_ctl: PG_BIN, or the newest /usr/lib/postgresql/*/bin."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    if not found:
        sys.exit("No PostgreSQL binaries: set PG_BIN to the folder holding initdb and pg_ctl.")
    return found[0]


class Cluster:
    """A throwaway cluster in `folder` (created), on a free port, with fsync on (durability
    counts). As root, its tools run as the `postgres` user, which must reach `folder`."""

    def __init__(self, folder: Path):
        self.bin = binaries()
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.running = False
        folder.mkdir()
        if os.geteuid() == 0:  # initdb refuses root
            shutil.chown(folder, "postgres", "postgres")
        self._run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync")

    def _run(self, tool: str, *args, timeout: float = 60) -> None:
        command = [str(self.bin / tool), *map(str, args)]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(  # noqa: S603 (our own tools)
            command, capture_output=True, text=True, timeout=timeout, cwd=self.folder
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c max_connections=100"
            f" -c unix_socket_directories={self.folder}"
        )
        log_file = self.folder / "log"
        self._run("pg_ctl", "-D", self.data, "-l", log_file, "-o", options, *WAIT, "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; `immediate` is a crash (no shutdown checkpoint)."""
        self._run("pg_ctl", "-D", self.data, "-m", mode, *WAIT, "stop")
        self.running = False

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new database `name`; its URL."""
        return Database(self.url(), name).create()

    def close(self) -> None:
        if self.running:
            try:
                self.stop("immediate")
            except Exception as e:  # cleanup goes on
                print(f"      could not stop PostgreSQL: {e}", flush=True)


class Database:
    """The database `name` on the server of `server_url` (any database URL of it), made
    afresh by create() and dropped by drop(), whoever is still connected."""

    def __init__(self, server_url: str, name: str):
        self.server_url = server_url
        self.name = name
        self.url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))

    def _execute(self, statement: str) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(sql.SQL(statement).format(sql.Identifier(self.name)))

    def create(self) -> str:
        """The database, empty (an earlier one of that name is dropped); its URL."""
        self.drop()
        self._execute("CREATE DATABASE {}")
        return self.url

    def drop(self) -> None:
        self._execute("DROP DATABASE IF EXISTS {} WITH (FORCE)")
