"""Mail through a real SMTP server (aiosmtpd): one mail per batch, the windows, the
digest, headers and escaping, access checked again at sending, an SMTP server that is down
or refuses."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from events.outbox import event_emit
from issues.serializers import IssueSerializer
from notifications import sending
from notifications.models import Email, MailItem, NotificationSettings, Thread
from projects.models import Membership
from projects.services import membership_remove
from tests.factories import IssueFactory

pytestmark = pytest.mark.django_db


def comment(client, issue, body):
    response = client.post(f"/api/v1/issues/{issue.key}/comments", {"body": body}, format="json")
    assert response.status_code == 201, response.json()


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(("html",)).get_content()


def test_several_changes_to_one_issue_make_one_mail_per_person(
    team, client_for, notify, deliver, smtp
):
    reviewer, owner = client_for(team.reviewer), client_for(team.owner)
    comment(reviewer, team.issue, "First thought.")
    comment(owner, team.issue, "Second thought.")
    owner.patch(f"/api/v1/issues/{team.issue.key}", {"priority": "highest"}, format="json")
    notify()
    sent = deliver()

    (mail,) = smtp.to(team.reporter.email)
    text = text_of(mail)
    assert text.count("commented on") == 2 and "changed priority" in text
    assert "First thought." in text and "Second thought." in text
    assert all(email.status == "sent" for email in sent)
    assert MailItem.objects.filter(email__isnull=True).count() == 0


def test_a_bulk_change_to_fifty_issues_sends_one_mail_not_fifty(team, notify, deliver, smtp):
    issues = [IssueFactory(project=team.project, reporter=team.reporter) for _ in range(50)]
    with transaction.atomic():
        for issue in issues:
            data = {**IssueSerializer(issue).data, "bulk_id": "bulk-7f3a"}
            event_emit(
                type="issue.updated",
                project=team.project,
                actor=team.owner,
                data=data,
                changes={"priority": "medium"},
            )
    notify()
    deliver()

    (mail,) = smtp.to(team.reporter.email)
    assert mail["Subject"].startswith("50 issues changed: ")
    assert all(issue.key in text_of(mail) for issue in issues)
    # The inbox still has one thread per issue.
    assert Thread.objects.filter(user=team.reporter).count() == 50


def test_a_bulk_edit_through_the_api_sends_each_person_one_mail(
    team, client_for, notify, deliver, smtp
):
    issues = [IssueFactory(project=team.project, reporter=team.reporter) for _ in range(20)]
    response = client_for(team.owner).post(
        "/api/v1/issues/bulk",
        {"issues": [i.key for i in issues], "changes": {"priority": "high", "labels": []}},
        format="json",
    )
    assert response.status_code == 200, response.content
    notify()
    deliver()

    (mail,) = smtp.to(team.reporter.email)
    assert mail["Subject"].startswith("20 issues changed: ")
    assert all(issue.key in text_of(mail) for issue in issues)


def test_a_mention_goes_within_a_minute_other_activity_once_it_pauses(
    team, client_for, notify, deliver, smtp, settings
):
    comment(client_for(team.reviewer), team.issue, f"@{team.viewer.username} can you check?")
    comment(client_for(team.owner), team.issue, "Plain activity.")
    notify()

    deliver(after=settings.NOTIFY_IMMEDIATE_QUIET + 1)
    # The mention, and the comment after it (the viewer takes part now): one mail.
    assert [m["X-Tracker-Reason"] for m in smtp.to(team.viewer.email)] == ["commented, mentioned"]
    assert smtp.to(team.reporter.email) == []  # batched: not yet
    deliver(after=settings.NOTIFY_BATCH_QUIET - 10)
    assert smtp.to(team.reporter.email) == []
    deliver(after=settings.NOTIFY_BATCH_QUIET + 1)
    assert len(smtp.to(team.reporter.email)) == 1


def test_a_batch_that_never_pauses_closes_after_its_longest_wait(
    team, client_for, notify, settings
):
    comment(client_for(team.reviewer), team.issue, "Busy issue.")
    comment(client_for(team.owner), team.issue, "Still busy.")
    notify()
    now = timezone.now()
    first, last = MailItem.objects.filter(user=team.reporter).order_by("id")
    MailItem.objects.filter(pk=first.pk).update(
        created_at=now - timedelta(seconds=settings.NOTIFY_BATCH_MAX - 5)
    )
    MailItem.objects.filter(pk=last.pk).update(created_at=now)

    assert sending.batches_close(now=now) == []
    (closed,) = sending.batches_close(now=now + timedelta(seconds=6))
    assert Email.objects.get(pk=closed).items.count() == 2


def test_the_daily_digest_gathers_the_day_in_one_mail(team, client_for, notify, deliver, smtp):
    reporter = client_for(team.reporter)
    response = reporter.patch(
        "/api/v1/me/notification-settings", {"commented": "daily", "subscribed": "daily"}
    )
    assert response.status_code == 200
    other = IssueFactory(project=team.project, reporter=team.reporter)
    comment(client_for(team.reviewer), team.issue, "On the first issue.")
    comment(client_for(team.reviewer), other, "On the second issue.")
    notify()

    deliver()
    assert smtp.to(team.reporter.email) == []  # not before the digest
    deliver(digests=True)

    (mail,) = smtp.to(team.reporter.email)
    assert mail["Subject"] == "Daily digest: 2 updates in 2 issues"
    assert team.issue.key in text_of(mail) and other.key in text_of(mail)
    assert "In-Reply-To" not in mail  # about several issues: threads with none
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_never_keeps_the_inbox_and_sends_no_mail(team, client_for, notify, deliver, smtp):
    client_for(team.reporter).patch("/api/v1/me/notification-settings", {"commented": "never"})
    comment(client_for(team.reviewer), team.issue, "Quietly.")
    notify()
    deliver(digests=True)

    assert smtp.to(team.reporter.email) == []
    assert Thread.objects.get(user=team.reporter).reason == "commented"
    assert not MailItem.objects.filter(user=team.reporter).exists()


def test_headers_thread_an_issues_mails_and_offer_one_click_unsubscribe(
    team, client_for, notify, deliver, smtp
):
    comment(client_for(team.reviewer), team.issue, "One.")
    notify()
    deliver()
    comment(client_for(team.reviewer), team.issue, "Two.")
    notify()
    deliver()

    first, second = smtp.to(team.reporter.email)
    for mail in (first, second):
        assert mail["Subject"] == f"[{team.issue.key}] Login fails"
        assert mail["References"] == mail["In-Reply-To"] == f"<issue.{team.issue.pk}@127.0.0.1>"
        assert mail["List-Unsubscribe"].strip().startswith("<http://127.0.0.1:8000/unsubscribe/")
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert mail["Auto-Submitted"] == "auto-generated"
        assert mail["List-Id"] == f"<{team.project.key.lower()}.127.0.0.1>"
        assert mail["To"] == team.reporter.email
        assert mail.get_content_type() == "multipart/alternative"
        link = f"http://127.0.0.1:8000/api/v1/issues/{team.issue.key}"
        assert link in text_of(mail) and f'href="{link}"' in html_of(mail)
    assert first["Message-ID"] != second["Message-ID"]
    assert first["Message-ID"].startswith("<notification.")


def test_the_issue_link_follows_the_setting(team, client_for, notify, deliver, smtp, settings):
    settings.NOTIFY_ISSUE_URL = "https://app.example.com/browse/{key}"
    comment(client_for(team.reviewer), team.issue, "Look.")
    notify()
    deliver()
    (mail,) = smtp.to(team.reporter.email)
    assert f"https://app.example.com/browse/{team.issue.key}" in text_of(mail)


def test_user_text_is_escaped_in_html_and_never_markup(team, client_for, notify, deliver, smtp):
    owner = client_for(team.owner)
    title = '<script>alert("t")</script> & co'
    owner.patch(f"/api/v1/issues/{team.issue.key}", {"title": title}, format="json")
    comment(owner, team.issue, '<img src=x onerror=alert(1)> <a href="javascript:x">y</a>')
    notify()
    deliver()

    (mail,) = smtp.to(team.reporter.email)
    html = html_of(mail)
    assert "<script>" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt; &amp; co" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert mail["Subject"] == f"[{team.issue.key}] {title}"  # a subject is text
    assert '<img src=x onerror=alert(1)> <a href="javascript:x">y</a>' in text_of(mail)


def test_no_mail_for_a_project_the_person_can_no_longer_see(
    team, client_for, notify, deliver, smtp
):
    comment(client_for(team.reviewer), team.issue, "Something confidential.")
    notify()
    membership_remove(membership=Membership.objects.get(project=team.project, user=team.reporter))
    sent = deliver()

    assert smtp.to(team.reporter.email) == []
    assert len(smtp.to(team.developer.email)) == 1
    (cancelled,) = [e for e in sent if e.user_id == team.reporter.pk]
    assert cancelled.status == "cancelled"
    # Nothing more is sent to them either.
    comment(client_for(team.reviewer), team.issue, "Later.")
    notify()
    assert not MailItem.objects.filter(user=team.reporter, email__isnull=True).exists()


def test_a_mail_closed_before_access_was_lost_is_not_sent(team, client_for, notify, smtp):
    comment(client_for(team.reviewer), team.issue, "Before.")
    notify()
    later = timezone.now() + timedelta(hours=1)
    ids = sending.batches_close(now=later)
    membership_remove(membership=Membership.objects.get(project=team.project, user=team.reporter))
    for pk in ids:
        sending.email_send(email_id=pk, now=later)
    assert smtp.to(team.reporter.email) == []
    assert Email.objects.get(user=team.reporter).status == "cancelled"


def test_an_smtp_server_that_is_down_delays_mail_and_loses_none(
    team, client_for, notify, smtp, settings
):
    for _ in range(3):
        comment(client_for(team.owner), team.issue, "Burst.")
    comment(client_for(team.reviewer), team.issue, f"@{team.viewer.username} burst")
    notify()
    up = settings.EMAIL_PORT
    settings.EMAIL_PORT = 1  # nothing listens there: connection refused
    start = timezone.now() + timedelta(hours=1)
    ids = sending.batches_close(now=start)
    assert len(ids) == 5  # reporter, developer, reviewer, viewer, owner (a commenter)
    for pk in ids:
        sending.email_send(email_id=pk, now=start)
    pending = Email.objects.filter(status="pending")
    assert pending.count() == 5 and all(e.attempts == 1 and e.error for e in pending)
    # Not due yet: nothing is tried.
    assert all(sending.email_send(email_id=pk, now=start) is None for pk in ids)

    smtp.answer = "451 Try again later"  # up, but refusing for now
    settings.EMAIL_PORT = up
    second = start + timedelta(seconds=settings.NOTIFY_EMAIL_RETRY_SCHEDULE[0] + 1)
    assert sorted(sending.emails_due(now=second + timedelta(seconds=10))) == sorted(ids)
    for pk in ids:
        sending.email_send(email_id=pk, now=second)
    assert Email.objects.filter(status="pending", attempts=2).count() == 5

    smtp.answer = "250 OK"
    third = second + timedelta(seconds=settings.NOTIFY_EMAIL_RETRY_SCHEDULE[1] + 1)
    for pk in ids:
        sending.email_send(email_id=pk, now=third)
        sending.email_send(email_id=pk, now=third)  # a task run twice sends once

    assert Email.objects.filter(status="sent", attempts=3).count() == 5
    recipients = sorted(to[0] for to, _ in smtp.received)
    people = (team.reporter, team.developer, team.reviewer, team.viewer, team.owner)
    assert recipients == sorted(u.email for u in people)  # each once


def test_a_refusal_for_good_fails_the_mail_and_a_long_outage_gives_up(
    team, client_for, notify, smtp, settings
):
    comment(client_for(team.reviewer), team.issue, "Hello.")
    notify()
    start = timezone.now() + timedelta(hours=1)
    refused, dropped = sending.batches_close(now=start)
    smtp.answer = "550 No such mailbox"
    assert sending.email_send(email_id=refused, now=start).status == "failed"

    settings.EMAIL_PORT = 1
    late = start + timedelta(hours=settings.NOTIFY_EMAIL_GIVE_UP_HOURS + 1)
    given_up = sending.email_send(email_id=dropped, now=late)
    assert given_up.status == "failed" and given_up.next_attempt_at is None

    # An operator sends it again, from the start.
    settings.EMAIL_PORT, smtp.answer = smtp.port, "250 OK"
    again = sending.email_retry(email=given_up)
    assert (again.status, again.attempts) == ("pending", 0)
    assert sending.email_send(email_id=dropped, now=timezone.now()).status == "sent"


def test_sent_mail_is_pruned_after_the_retention(team, client_for, notify, deliver, settings):
    comment(client_for(team.reviewer), team.issue, "Old news.")
    notify()
    deliver()
    comment(client_for(team.reviewer), team.issue, "Waiting.")
    notify()
    assert Email.objects.filter(status="sent").count() == 2
    old = timezone.now() + timedelta(days=settings.NOTIFY_EMAIL_RETENTION_DAYS + 1)

    assert sending.emails_prune(now=old) == 2
    assert not Email.objects.exists()
    # What is still waiting to go out is kept.
    assert MailItem.objects.filter(email__isnull=True).count() == 2


def test_changing_a_setting_to_never_drops_what_waits(team, client_for, notify, deliver, smtp):
    comment(client_for(team.reviewer), team.issue, "Waiting.")
    notify()
    NotificationSettings.objects.create(user=team.reporter, email={"commented": "never"})
    deliver()
    assert smtp.to(team.reporter.email) == []
    assert len(smtp.to(team.developer.email)) == 1
