"""The PostgreSQL backend the service runs on: django-prometheus's (which counts queries
and errors) with a health check that costs no round trip while the connection is sound.

Django's CONN_HEALTH_CHECKS pings a persistent connection (`SELECT 1`) before its first
query in every request: one more round trip per request, which profiles of the issue
detail put at a fifth of its time (bench/results/profile-detail.md). Nothing arrives
unasked on an idle connection, so when the server ends one (a restart, an operator's
pg_terminate_backend, an idle timeout) the only sign the client gets is its socket turning
readable: the server's farewell message and the end of the stream. So the socket is looked
at first, without waiting, and only a connection with something to read is pinged (and
replaced if the ping fails, as Django does). A peer that vanished without a word (a
network partition) looks sound to both checks until TCP gives up on it; the ping would
have waited as long.
"""

import select

from django_prometheus.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and not self._server_spoke()
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def _server_spoke(self) -> bool:
        """Whether the server sent anything (or closed the connection) since the last
        query: select() with no timeout, a system call and no round trip."""
        if self.connection.closed:
            return True
        try:
            readable, _, _ = select.select([self.connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return True  # no usable socket: let the ping decide
        return bool(readable)
