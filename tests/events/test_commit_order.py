"""On PostgreSQL, event ids are handed out in commit order, so `after=<id>` misses nothing."""

import threading
import time

import pytest
from django.db import connection, transaction

from events.models import Event
from events.outbox import event_emit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_later_writer_waits_for_the_earlier_one_to_commit(project):
    first_inserted = threading.Event()
    log = []

    def slow_writer():
        try:
            with transaction.atomic():
                event_emit(type="issue.created", project=project, actor=None, data={})
                first_inserted.set()
                time.sleep(0.5)  # the rest of a long transaction
                log.append("first commits")
        finally:
            connection.close()

    def fast_writer():
        try:
            assert first_inserted.wait(10)
            with transaction.atomic():
                event_emit(type="issue.updated", project=project, actor=None, data={})
                log.append("second inserted")
        finally:
            connection.close()

    threads = [threading.Thread(target=slow_writer), threading.Thread(target=fast_writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # Without the lock the second would take the next id and commit first: a reader
    # between the two commits would see it, resume after it, and never see the first.
    assert log == ["first commits", "second inserted"]
    first, second = Event.objects.order_by("id")
    assert (first.type, second.type) == ("issue.created", "issue.updated")
