"""A stored object outlives its row only until the deletion commits: every way the row
goes records the object for deletion in the same transaction, a task deletes it after the
commit, and the beat's sweep retries what a killed worker or a store that was down left
(and removes uploads left pending)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from attachments import services, storage, tasks
from attachments.models import Attachment, ObjectDeletion
from tests.factories import CommentFactory, IssueFactory, UserFactory

pytestmark = pytest.mark.django_db


def attach(issue, comment=None) -> Attachment:
    return services.attachment_upload(
        issue=issue, comment=comment, uploader=UserFactory(), filename="a.txt", chunks=[b"abc"]
    )


def test_deleting_an_attachment_deletes_its_object_after_the_commit(
    issue, maintainer, client_for, _attachments_storage, django_capture_on_commit_callbacks
):
    attachment = attach(issue)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(maintainer).delete(f"/api/v1/attachments/{attachment.pk}")
        assert response.status_code == 204
        # Committed in the request's transaction, not yet acted on: the object is there.
        assert list(ObjectDeletion.objects.values_list("key", flat=True)) == [attachment.key]
        assert (_attachments_storage / attachment.key).exists()
    for callback in callbacks:
        callback()
    assert not (_attachments_storage / attachment.key).exists()
    assert not ObjectDeletion.objects.exists()
    assert not Attachment.objects.exists()


def test_a_rolled_back_deletion_keeps_the_row_and_the_object(issue, _attachments_storage):
    attachment = attach(issue)

    with pytest.raises(RuntimeError), transaction.atomic():
        services.attachment_delete(attachment=attachment)
        raise RuntimeError("the rest of the change failed")

    assert Attachment.objects.filter(pk=attachment.pk).exists()
    assert not ObjectDeletion.objects.exists()
    assert (_attachments_storage / attachment.key).exists()


@pytest.mark.parametrize("owner_kind", ["comment", "issue", "project"])
def test_deleting_its_comment_issue_or_project_deletes_the_object(
    project,
    owner,
    client_for,
    _attachments_storage,
    django_capture_on_commit_callbacks,
    owner_kind,
):
    issue = IssueFactory(project=project)
    comment = CommentFactory(issue=issue, author=owner)
    on_comment, on_issue = attach(issue, comment=comment), attach(issue)
    url = {
        "comment": f"/api/v1/comments/{comment.pk}",
        "issue": f"/api/v1/issues/{issue.key}",
        "project": f"/api/v1/projects/{project.key}",
    }[owner_kind]

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(owner).delete(url)

    assert response.status_code == 204, response.content
    gone = [on_comment] if owner_kind == "comment" else [on_comment, on_issue]
    for attachment in gone:
        assert not (_attachments_storage / attachment.key).exists()
        assert not Attachment.objects.filter(pk=attachment.pk).exists()
    if owner_kind == "comment":
        assert (_attachments_storage / on_issue.key).exists()
    assert not ObjectDeletion.objects.exists()


def test_a_worker_killed_before_the_delete_is_caught_up_by_the_sweep(issue, _attachments_storage):
    attachment = attach(issue)
    # The deletion commits; the worker that was to delete the object dies first (here: the
    # task is never queued).
    with mock.patch("attachments.services.enqueue"), transaction.atomic():
        services.attachment_delete(attachment=attachment)
    assert (_attachments_storage / attachment.key).exists()
    assert ObjectDeletion.objects.filter(key=attachment.key).exists()

    tasks.sweep()

    assert not (_attachments_storage / attachment.key).exists()
    assert not ObjectDeletion.objects.exists()


def test_a_store_that_is_down_is_retried(issue, _attachments_storage):
    attachment = attach(issue)
    with mock.patch("attachments.services.enqueue"):
        services.attachment_delete(attachment=attachment)

    with mock.patch.object(storage, "delete_object", side_effect=OSError("store down")):
        assert services.objects_delete_due() == 0
    assert ObjectDeletion.objects.get(key=attachment.key).attempts == 1
    assert (_attachments_storage / attachment.key).exists()

    assert services.objects_delete_due() == 1
    assert not (_attachments_storage / attachment.key).exists()


def test_uploads_left_pending_are_removed_after_the_set_time(
    issue, settings, _attachments_storage, django_capture_on_commit_callbacks
):
    settings.ATTACHMENT_PENDING_HOURS = 24
    stale, fresh, done = attach(issue), attach(issue), attach(issue)
    Attachment.objects.filter(pk__in=[stale.pk, fresh.pk]).update(status="pending")
    Attachment.objects.filter(pk__in=[stale.pk, done.pk]).update(
        created_at=timezone.now() - timedelta(hours=25)
    )

    with django_capture_on_commit_callbacks(execute=True):
        tasks.sweep()

    assert set(Attachment.objects.values_list("pk", flat=True)) == {fresh.pk, done.pk}
    assert not (_attachments_storage / stale.key).exists()
    assert (_attachments_storage / fresh.key).exists()


def test_the_beat_runs_the_sweep(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["attachments-sweep"]
    assert entry["task"] == tasks.sweep.name
