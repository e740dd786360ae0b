"""Events of one batch carry its bulk_id (events.outbox.event_batch); others carry none."""

import uuid

import pytest
from django.db import transaction

from events.models import Event
from events.outbox import event_batch, event_emit
from issues.services import issue_create

pytestmark = pytest.mark.django_db


def emit(project, **extra):
    with transaction.atomic():
        return event_emit(type="project.updated", project=project, actor=None, data={}, **extra)


def test_events_inside_a_batch_carry_its_id_and_others_none(project):
    before = emit(project)
    with event_batch() as bulk_id:
        issue = issue_create(project=project, reporter=project.created_by, title="In a batch")
        inside = emit(project)
    after = emit(project)

    assert isinstance(bulk_id, uuid.UUID)
    assert before.bulk_id is None and after.bulk_id is None
    assert inside.bulk_id == bulk_id
    created = Event.objects.get(type="issue.created", data__key=issue.key)
    assert created.bulk_id == bulk_id


def test_a_batch_takes_a_given_id_and_an_event_its_own(project):
    given, own = uuid.uuid4(), uuid.uuid4()
    with event_batch(given):
        assert emit(project).bulk_id == given
        assert emit(project, bulk_id=own).bulk_id == own
        with event_batch() as inner:
            assert emit(project).bulk_id == inner != given
        assert emit(project).bulk_id == given


def test_the_feed_shows_and_filters_by_bulk_id(project, client_for):
    with event_batch() as bulk_id:
        emit(project)
        emit(project)
    emit(project)
    client = client_for(project.created_by)

    everything = client.get("/api/v1/events").json()["results"]
    batch = client.get(f"/api/v1/events?bulk_id={bulk_id}").json()["results"]

    assert [e["bulk_id"] for e in everything] == [str(bulk_id), str(bulk_id), None]
    assert [e["id"] for e in batch] == [e["id"] for e in everything[:2]]


def test_deferred_events_are_written_together_at_the_end_of_the_block(project):
    from events.outbox import events_deferred

    with transaction.atomic():
        with events_deferred() as pending:
            first = event_emit(type="project.updated", project=project, actor=None, data={})
            second = event_emit(type="project.updated", project=project, actor=None, data={})
            assert first.pk is None and not Event.objects.exists()
            assert pending == [first, second]
        assert [e.pk for e in Event.objects.order_by("id")] == [first.pk, second.pk]


def test_deferred_events_of_a_block_that_fails_are_never_written(project):
    from events.outbox import events_deferred

    with pytest.raises(ValueError), transaction.atomic(), events_deferred():
        event_emit(type="project.updated", project=project, actor=None, data={})
        raise ValueError("the change failed")
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_events_are_deferred_only_inside_a_transaction(project):
    from events.outbox import events_deferred

    with pytest.raises(RuntimeError), events_deferred():
        pass
