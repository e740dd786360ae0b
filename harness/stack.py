"""The service as the image runs it, on dependencies of its own that a scenario may break."""

import time
from pathlib import Path

from . import run
from .image import image_command, migrate_job_command, production_env
from .pgbouncer import PgBouncer
from .postgres import Cluster
from .redis_server import RedisServer
from .report import note
from .server import Gunicorn

DATABASE = "tracker"


class Stack:
    """A throwaway PostgreSQL cluster holding the database `tracker`, a redis-server, a
    PgBouncer in transaction pooling mode between gunicorn and PostgreSQL if asked
    (DATABASE_POOLER=pgbouncer), the migration Job's command, and gunicorn with the
    production settings; everything in `folder`, which the postgres user must reach."""

    def __init__(self, folder: Path, pgbouncer: bool = False):
        self.folder = folder
        self.postgres = Cluster(folder / "postgres")
        self.redis = RedisServer(folder)
        self.pgbouncer = (
            PgBouncer(folder / "pgbouncer", self.postgres.url()) if pgbouncer else None
        )
        self.server: Gunicorn | None = None
        self.env: dict[str, str] = {}

    def start(self, workers: int = 2, threads: int = 4, **settings: str) -> None:
        """Start everything; `settings` are added to the production environment."""
        started = time.monotonic()
        self.postgres.start()
        database_url = self.postgres.create_database(DATABASE)
        self.redis.start()
        if self.pgbouncer:
            self.pgbouncer.start()
            database_url = self.pgbouncer.url(DATABASE)
        env = production_env(self.folder, database_url=database_url, redis_url=self.redis.url)
        if self.pgbouncer:
            env["DATABASE_POOLER"] = "pgbouncer"
        env.update(WEB_CONCURRENCY=str(workers), GUNICORN_THREADS=str(threads), **settings)
        self.env = env
        (self.folder / "static").mkdir()
        done = run(migrate_job_command(), env)
        if done.returncode != 0:
            raise RuntimeError(f"migrate failed: {done.stdout}{done.stderr}")
        note(f"migrated at {time.monotonic() - started:.1f} s")
        note(f"gunicorn ({workers} workers x {threads} threads): {' '.join(image_command())}")
        self.server = Gunicorn(env, self.folder)
        if not self.server.wait_until_up(workers=workers):
            raise RuntimeError("gunicorn did not start:\n" + self.tail())

    def database_url(self) -> str:
        """The database, straight to PostgreSQL (for checks behind the service's back)."""
        return self.postgres.url(DATABASE)

    def tail(self, lines: int = 20) -> str:
        return self.server.tail(lines) if self.server else ""

    def close(self) -> None:
        for step in (
            lambda: self.server and self.server.stop(),
            lambda: self.pgbouncer and self.pgbouncer.close(),
            self.redis.stop,
            self.postgres.close,
        ):
            try:
                step()
            except Exception as e:  # clean up the rest regardless
                print(f"      cleanup: {e!r}", flush=True)
