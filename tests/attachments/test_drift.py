"""The drift command: objects left behind by cascades or a killed worker are found and
deleted; rows whose object is gone are rejected."""

from io import StringIO

import pytest
from django.core.management import call_command

from attachments import services, storage
from attachments.models import Attachment
from tests.factories import IssueFactory, UserFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("attachments_drift", *args, stdout=out)
    return out.getvalue()


def test_issue_deleted_leaves_an_orphan_the_command_removes(_attachments_storage):
    issue = IssueFactory()
    kept = services.attachment_upload(
        issue=IssueFactory(), uploader=UserFactory(), filename="k.txt", chunks=[b"k"]
    )
    gone = services.attachment_upload(
        issue=issue, uploader=UserFactory(), filename="a.txt", chunks=[b"abc"]
    )
    key = gone.key
    issue.delete()  # the rows cascade; the object stays until the command runs

    report = run()
    assert f"orphan object {key}" in report
    assert (_attachments_storage / key).exists()

    report = run("--repair")
    assert "repaired: 1 orphan objects, 0 missing objects" in report
    assert not (_attachments_storage / key).exists()
    assert (_attachments_storage / kept.key).exists()
    assert list(Attachment.objects.all()) == [kept]


def test_worker_killed_before_the_delete_is_repaired(_attachments_storage):
    attachment = services.attachment_upload(
        issue=IssueFactory(), uploader=UserFactory(), filename="a.txt", chunks=[b"abc"]
    )
    # The deletion commits, and the process dies before its on-commit clean-up runs.
    services.attachment_delete(attachment=attachment)
    assert (_attachments_storage / attachment.key).exists()
    run("--repair")
    assert not (_attachments_storage / attachment.key).exists()


def test_row_without_its_object_is_rejected(_attachments_storage):
    attachment = services.attachment_upload(
        issue=IssueFactory(), uploader=UserFactory(), filename="a.txt", chunks=[b"abc"]
    )
    storage.delete_object(attachment.key)
    assert f"missing object for row {attachment.key}" in run()
    run("--repair")
    attachment.refresh_from_db()
    assert attachment.status == "rejected"
    assert attachment.reason == "The stored file is missing."
