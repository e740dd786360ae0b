"""The admin shows a person's notification settings and the mail waiting to go out, and
sends a failed mail again."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from notifications import sending
from notifications.models import Email, NotificationSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(site_admin):
    client = Client()
    client.force_login(site_admin)
    return client


def comment(client, issue, body="Hello."):
    response = client.post(f"/api/v1/issues/{issue.key}/comments", {"body": body}, format="json")
    assert response.status_code == 201


def test_a_persons_settings_are_shown_not_edited(admin_client, team):
    settings = NotificationSettings.objects.create(user=team.viewer, email={"commented": "daily"})
    listing = admin_client.get("/admin/notifications/notificationsettings/")
    assert listing.status_code == 200
    assert "commented: daily" in listing.content.decode()
    assert "mentioned: immediately" in listing.content.decode()
    page = admin_client.get(f"/admin/notifications/notificationsettings/{team.viewer.pk}/change/")
    assert page.status_code == 200 and "commented: daily" in page.content.decode()
    response = admin_client.post(
        f"/admin/notifications/notificationsettings/{team.viewer.pk}/change/",
        {"email": '{"commented": "never"}'},
    )
    assert response.status_code == 403
    settings.refresh_from_db()
    assert settings.email == {"commented": "daily"}
    assert admin_client.get("/admin/notifications/notificationsettings/add/").status_code == 403


def test_pending_mail_is_listed_with_what_it_holds(admin_client, team, client_for, notify):
    comment(client_for(team.reviewer), team.issue, "Waiting to go out.")
    notify()
    later = timezone.now() + timedelta(hours=1)
    ids = sending.batches_close(now=later)
    email = Email.objects.get(pk=ids[0])

    listing = admin_client.get("/admin/notifications/email/?status=pending")
    assert listing.status_code == 200
    assert f"/admin/notifications/email/{email.pk}/change/" in listing.content.decode()
    page = admin_client.get(f"/admin/notifications/email/{email.pk}/change/")
    assert page.status_code == 200
    assert "commented" in page.content.decode() and "pending" in page.content.decode()
    assert admin_client.get("/admin/notifications/email/add/").status_code == 403


def test_send_again_queues_failed_mail_from_the_start(
    admin_client, team, client_for, notify, smtp
):
    comment(client_for(team.reviewer), team.issue)
    notify()
    later = timezone.now() + timedelta(hours=1)
    ids = sending.batches_close(now=later)
    smtp.answer = "550 Unknown user"
    for pk in ids:
        sending.email_send(email_id=pk, now=later)
    assert set(Email.objects.values_list("status", flat=True)) == {"failed"}
    smtp.answer = "250 OK"

    response = admin_client.post(
        "/admin/notifications/email/",
        {"action": "send_again", "_selected_action": ids},
        follow=True,
    )
    assert response.status_code == 200
    assert f"{len(ids)} mail(s) queued to send again." in response.content.decode()
    assert set(Email.objects.values_list("status", "attempts")) == {("pending", 0)}
