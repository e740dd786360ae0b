"""The consumer reading the outbox: woken by each commit, caught up by the sweep, reading
each event once, never stuck on one bad event; and its statements per event, the same for
5 watchers as for 500."""

import importlib
import logging

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from comments.services import comment_create
from events.models import Event
from events.outbox import event_emit
from notifications import consumer, rules, services, tasks
from notifications.models import Email, EventCursor, Inbox, IssueSubscription, MailItem, Thread
from projects.models import Membership, Role
from projects.services import membership_remove
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def comment(client, issue, body="A comment."):
    response = client.post(f"/api/v1/issues/{issue.key}/comments", {"body": body}, format="json")
    assert response.status_code == 201, response.json()


def test_each_committed_change_wakes_the_consumer(
    team, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        comment(client_for(team.reviewer), team.issue)
    # The task ran on commit (eagerly, as a worker would soon after).
    assert Thread.objects.get(user=team.reporter).reason == "commented"
    cursor = EventCursor.objects.get(pk=consumer.CURSOR)
    assert cursor.last_event_id == Event.objects.latest("id").pk


def test_a_lost_wake_up_call_is_caught_up_by_the_sweep(team, client_for):
    comment(client_for(team.reviewer), team.issue)  # its on-commit task never ran
    assert not Thread.objects.exists()
    read, _ = services.sweep()
    assert read == 1
    assert Thread.objects.filter(user=team.reporter).exists()


def test_reading_again_changes_nothing(team, client_for, notify):
    comment(client_for(team.reviewer), team.issue)
    assert notify() == 1
    threads = list(Thread.objects.values())
    items = MailItem.objects.count()

    assert notify() == 0
    last = Event.objects.latest("id").pk
    assert consumer.events_consume(up_to=last) == 0
    tasks.consume_events.delay(last)
    assert list(Thread.objects.values()) == threads
    assert MailItem.objects.count() == items


def test_a_rolled_back_change_notifies_nobody(team, notify):
    with pytest.raises(RuntimeError), transaction.atomic():
        comment_create(issue=team.issue, author=team.reviewer, body="Never happened")
        raise RuntimeError
    assert notify() == 0
    assert not Thread.objects.exists()


def test_a_failing_event_is_retried_then_skipped_and_the_rest_goes_on(
    team, client_for, notify, monkeypatch, caplog
):
    comment(client_for(team.reviewer), team.issue, "Breaks the consumer.")
    comment(client_for(team.owner), team.issue, "Fine.")
    bad, good = Event.objects.order_by("id")
    real = consumer.event_notify

    def flaky(event):
        if event.pk == bad.pk:
            raise ValueError("a bug")
        return real(event)

    monkeypatch.setattr(consumer, "event_notify", flaky)
    with caplog.at_level(logging.ERROR, logger="notifications.consumer"):
        for attempt in range(1, consumer.MAX_FAILURES):
            assert notify() == 0
            cursor = EventCursor.objects.get(pk=consumer.CURSOR)
            assert (cursor.stuck_event_id, cursor.failures) == (bad.pk, attempt)
        assert notify() == 2  # skipped, then the next one read
    cursor = EventCursor.objects.get(pk=consumer.CURSOR)
    assert (cursor.last_event_id, cursor.stuck_event_id, cursor.failures) == (good.pk, None, 0)
    assert "skipped" in caplog.text
    assert Thread.objects.get(user=team.reporter).event_id == good.pk


def test_a_missing_cursor_starts_from_the_beginning(team, client_for, notify):
    EventCursor.objects.all().delete()
    comment(client_for(team.reviewer), team.issue)
    assert notify() == 1
    assert EventCursor.objects.get().last_event_id == Event.objects.get().pk


def test_the_migration_starts_the_cursor_at_the_end_of_the_outbox(team, client_for):
    comment(client_for(team.reviewer), team.issue)
    comment(client_for(team.reviewer), team.issue)
    migration = importlib.import_module("notifications.migrations.0002_cursor_at_the_outbox_end")
    migration.start_at_the_end(apps, None)
    assert EventCursor.objects.get().last_event_id == Event.objects.latest("id").pk


def test_events_about_nothing_or_a_deleted_issue_notify_nobody(team, client_for, notify):
    comment(client_for(team.reviewer), team.issue)
    client_for(team.owner).post(f"/api/v1/projects/{team.project.key}/labels", {"name": "x"})
    client_for(team.owner).delete(f"/api/v1/issues/{team.issue.key}")
    assert notify() == 3
    assert not Thread.objects.exists()  # the comment's issue was gone when it was read


def test_losing_or_gaining_access_changes_the_inbox_version(team, client_for, notify):
    comment(client_for(team.reviewer), team.issue)
    notify()
    version = Inbox.objects.get(user=team.reporter).version
    membership_remove(membership=Membership.objects.get(project=team.project, user=team.reporter))
    notify()
    assert Inbox.objects.get(user=team.reporter).version != version


def test_a_deleted_project_takes_its_threads_along(team, client_for, notify):
    comment(client_for(team.reviewer), team.issue)
    notify()
    version = Inbox.objects.get(user=team.reporter).version
    assert client_for(team.owner).delete(f"/api/v1/projects/{team.project.key}").status_code == 204
    notify()
    assert not Thread.objects.exists()
    assert Inbox.objects.get(user=team.reporter).version != version


def test_the_beat_runs_every_step(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["notifications-sweep"]["task"] == "notifications.tasks.sweep"
    assert schedule["notifications-close-batches"]["task"] == "notifications.tasks.close_batches"
    assert schedule["notifications-digest"]["task"] == "notifications.tasks.send_digests"
    assert schedule["notifications-prune"]["task"] == "notifications.tasks.prune"
    assert schedule["notifications-digest"]["schedule"].hour == {settings.NOTIFY_DIGEST_HOUR}
    for entry in schedule.values():
        assert entry["task"] in tasks.consume_events.app.tasks


def test_the_tasks_call_their_services(team, client_for, smtp):
    comment(client_for(team.reviewer), team.issue)
    tasks.sweep.delay()
    tasks.close_batches.delay()  # nothing is due yet
    assert Thread.objects.count() == 2 and not Email.objects.exists()
    MailItem.objects.update(created_at="2000-01-01T00:00:00Z")
    tasks.close_batches.delay()  # closes (their sends are queued on commit)
    for email in Email.objects.all():
        tasks.send_email.delay(email.pk)
    assert Email.objects.filter(status="sent").count() == 2 == len(smtp.received)
    tasks.send_digests.delay()
    tasks.prune.delay()
    assert Email.objects.count() == 2  # sent today: kept


@pytest.mark.parametrize("watchers", [5, 500])
def test_a_comment_on_an_issue_with_many_watchers_takes_a_fixed_number_of_statements(
    team, watchers
):
    people = UserFactory.create_batch(watchers)
    for person in people:
        MembershipFactory(project=team.project, user=person, role=Role.VIEWER)
    IssueSubscription.objects.bulk_create(
        [IssueSubscription(user=p, issue=team.issue, state="watching") for p in people]
    )
    with transaction.atomic():
        comment_create(issue=team.issue, author=team.owner, body=f"Hello @{team.viewer.username}")

    with CaptureQueriesContext(connection) as statements:
        assert consumer.events_consume() == 1

    # Reporter, assignee, the mentioned viewer, every watcher.
    assert Thread.objects.count() == MailItem.objects.count() == watchers + 3
    # Cursor (3), events (1), savepoints (4), issue, mentions, commenters, subscriptions,
    # project watchers, people (6), mentioned people's subscriptions, threads, inbox
    # versions, mail items (4), holders' inbox versions (0: a comment changes no issue).
    assert len(statements) == 18, [q["sql"][:80] for q in statements]


def test_the_settings_read_the_environment():
    assert settings.NOTIFY_IMMEDIATE_QUIET < settings.NOTIFY_IMMEDIATE_MAX <= 60
    assert settings.NOTIFY_BATCH_QUIET == 180 and settings.NOTIFY_BATCH_MAX == 600
    assert settings.PUBLIC_URL == "http://127.0.0.1:8000"


def test_a_new_kind_of_change_notifies_with_one_entry_in_the_table(team, notify, monkeypatch):
    """How a kind of change made elsewhere (relations between issues) is wired: one line."""
    monkeypatch.setitem(
        rules.RULES,
        "issue.unblocked",
        rules.Rule(
            rules.issue_by_id,
            (
                rules.Hear(rules.assignee_now, "state_changed"),
                rules.Hear(rules.watchers, "state_changed"),
            ),
        ),
    )
    IssueSubscription.objects.create(user=team.viewer, issue=team.issue, state="watching")
    with transaction.atomic():
        event_emit(
            type="issue.unblocked",
            project=team.project,
            actor=team.owner,
            data={"id": team.issue.pk, "key": team.issue.key},
        )
    notify()
    threads = dict(Thread.objects.values_list("user_id", "reason"))
    assert threads == {team.developer.pk: "state_changed", team.viewer.pk: "state_changed"}
