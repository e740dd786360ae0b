"""The Celery app: webhooks are relayed and delivered by its workers (see webhooks/tasks.py).

Settings come from Django's `CELERY_*` settings (config/settings/base.py says which broker).
The database's outbox is what must not be lost; the broker only carries ids, so a task
lost with the broker is found again by the sweeper.
"""

import logging
import os

from celery import Celery
from kombu.exceptions import OperationalError
from kombu.transport import redis as kombu_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


def enqueue(name: str, *args, eta=None) -> bool:
    """Queue the task named `name` (to run at `eta`, if given), by name so callers need not
    import its app. When the broker is down, log and go on: what the task would do is in the
    database, and the sweeper queues it again."""
    try:
        app.tasks[name].apply_async(args, eta=eta)
    except (OperationalError, OSError):
        logger.warning("Could not queue %s%r; the sweeper will.", name, args, exc_info=True)
        return False
    return True


class RedisChannel(kombu_redis.Channel):
    """kombu's Redis channel, which can still give back its unacknowledged messages once the
    worker has let go of the broker connection.

    When Redis goes away, Celery's consumer first collects its connection, which detaches
    the transport from it (`transport.client = None`), then closes it. If the first close
    was cut short (a BRPOP was waiting on the dead socket), the second one gives back the
    unacknowledged messages through a new connection pool whose address it reads from
    `transport.client`: "AttributeError: 'NoneType' object has no attribute 'hostname'",
    which nothing catches, and the worker exits ("Unrecoverable error"; kombu 5.7.0, the
    latest). This channel remembers the connection it was opened for and reads the address
    from it then; the messages are given back (or, with Redis still down, stay in its
    unacknowledged set until the visibility timeout), and the worker reconnects.
    scripts/resilience.py's broker-restarts scenario restarts Redis under load and checks
    the same worker survives.
    """

    def __init__(self, connection, **kwargs):
        self._broker_connection = connection.client
        super().__init__(connection, **kwargs)

    def _connparams(self, asynchronous=False):
        transport = self.connection
        if transport.client is not None:
            return super()._connparams(asynchronous=asynchronous)
        transport.client = self._broker_connection
        try:
            return super()._connparams(asynchronous=asynchronous)
        finally:
            transport.client = None


class RedisTransport(kombu_redis.Transport):
    """kombu's Redis transport with the channel above (CELERY_BROKER_TRANSPORT chooses it
    for redis:// and rediss:// brokers)."""

    Channel = RedisChannel
