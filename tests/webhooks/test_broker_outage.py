"""A Celery worker outlives its Redis broker's restarts (issue #22).

When the broker goes away, Celery's consumer collects its connection, which detaches the
transport (`transport.client = None`), then closes it. If collecting was cut short before
the channel gave back its unacknowledged messages (a BRPOP waiting on the dead socket),
closing gives them back through a new connection pool built from `transport.client`:
kombu's own transport raises AttributeError there, which kills the worker; ours gives them
back. Here that sequence runs against a real Redis; scripts/resilience.py's broker-restarts
scenario restarts one under a loaded worker.
"""

import uuid

import pytest
import redis
from django.conf import settings
from kombu import Connection, Exchange, Queue
from kombu.transport import redis as kombu_redis

from config.celery import RedisTransport, app


@pytest.fixture
def queue_name():
    name = f"test-outage-{uuid.uuid4().hex}"
    yield name
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(name, "unacked", "unacked_index", f"_kombu.binding.{name}")


def taken_and_not_acknowledged(transport, name) -> Connection:
    """A connection whose channel holds one message it has not acknowledged, as a worker
    holds a task it is running (acks late)."""
    connection = Connection(settings.REDIS_URL, transport=transport)
    channel = connection.default_channel
    queue = Queue(name, Exchange(name), name, channel=channel)
    queue.declare()
    connection.Producer(channel).publish({"delivery": 42}, exchange=name, routing_key=name)
    message = queue.get(no_ack=False)
    assert message.payload == {"delivery": 42}
    return connection


def lose_the_broker(connection) -> None:
    """What the consumer does after an interrupted collect: detach, then close."""
    connection.transport.client = None
    connection.close()


@pytest.mark.redis
def test_our_transport_gives_back_what_it_held_once_detached(queue_name):
    connection = taken_and_not_acknowledged(RedisTransport, queue_name)

    lose_the_broker(connection)

    with Connection(settings.REDIS_URL, transport=RedisTransport) as again:
        queue = Queue(queue_name, Exchange(queue_name), queue_name, channel=again)
        message = queue.get(no_ack=True)
        assert message is not None and message.payload == {"delivery": 42}


@pytest.mark.redis
def test_kombus_own_transport_still_fails_there(queue_name):
    """When this fails, kombu has fixed it: config.celery.RedisTransport can go."""
    connection = taken_and_not_acknowledged(kombu_redis.Transport, queue_name)

    with pytest.raises(AttributeError, match="hostname"):
        lose_the_broker(connection)


def test_redis_brokers_use_our_transport_and_wait_out_any_outage():
    if settings.CELERY_BROKER_URL.startswith("redis"):
        assert app.conf.broker_transport == "config.celery:RedisTransport"
    assert app.conf.broker_connection_max_retries is None
    assert app.conf.broker_connection_retry and app.conf.broker_connection_retry_on_startup
