"""The scanning hook, against a small fake clamd (ClamAV's INSTREAM protocol over TCP)
started by the test: nothing is downloadable before the scanner passed it, an infected file
never is, and a scanner that is down leaves uploads pending until the sweep tries again."""

import socket
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from attachments import scanning, tasks
from attachments.models import Attachment

from .conftest import EICAR

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def upload(client, issue, name, data, callbacks):
    with callbacks(execute=True):
        response = client.post(
            f"/api/v1/issues/{issue.key}/attachments",
            {"file": SimpleUploadedFile(name, data)},
            format="multipart",
        )
    assert response.status_code == 201, response.content
    return response.json()


def test_a_clean_file_is_available_once_the_scanner_passed_it(
    clamd, issue, reporter, client_for, django_capture_on_commit_callbacks
):
    client = client_for(reporter)
    created = upload(client, issue, "log.txt", b"all good", django_capture_on_commit_callbacks)

    assert created["status"] == "pending"  # as it was answered: before the scan
    assert clamd.received == [b"all good"]
    attachment = Attachment.objects.get(pk=created["id"])
    assert (attachment.status, attachment.reason) == ("available", "")
    assert client.get(created["download_url"]).status_code == 200


def test_an_infected_file_is_rejected_and_never_served(
    clamd, issue, reporter, client_for, django_capture_on_commit_callbacks, _attachments_storage
):
    client = client_for(reporter)
    created = upload(client, issue, "eicar.com", EICAR, django_capture_on_commit_callbacks)

    attachment = Attachment.objects.get(pk=created["id"])
    assert attachment.status == "rejected"
    assert attachment.reason == "The virus scanner found Eicar-Test-Signature."
    response = client.get(created["download_url"])
    assert response.status_code == 409
    assert not (_attachments_storage / attachment.key).exists()
    assert client.get(created["url"]).json()["reason"] == attachment.reason


def test_a_scanner_that_is_down_leaves_uploads_pending_until_the_sweep(
    clamd, settings, issue, reporter, client_for, django_capture_on_commit_callbacks
):
    up = settings.ATTACHMENT_SCANNER
    settings.ATTACHMENT_SCANNER = f"clamd://127.0.0.1:{closed_port()}"
    client = client_for(reporter)
    created = upload(client, issue, "log.txt", b"later", django_capture_on_commit_callbacks)

    attachment = Attachment.objects.get(pk=created["id"])
    assert attachment.status == "pending"
    assert client.get(created["download_url"]).status_code == 409
    # A day later the scanner is still down: the upload waits, it is not expired.
    Attachment.objects.filter(pk=attachment.pk).update(
        created_at=timezone.now() - timedelta(hours=settings.ATTACHMENT_PENDING_HOURS + 1)
    )
    tasks.sweep()
    assert Attachment.objects.get(pk=attachment.pk).status == "pending"

    settings.ATTACHMENT_SCANNER = up
    tasks.sweep()

    assert Attachment.objects.get(pk=attachment.pk).status == "available"
    assert clamd.received == [b"later"]


def test_without_a_scanner_uploads_are_available_at_once(issue, reporter, client_for):
    response = client_for(reporter).post(
        f"/api/v1/issues/{issue.key}/attachments",
        {"file": SimpleUploadedFile("a.txt", b"abc")},
        format="multipart",
    )
    assert response.json()["status"] == "available"


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("stream: OK", scanning.Verdict(clean=True)),
        (
            "stream: Win.Test.EICAR_HDB-1 FOUND",
            scanning.Verdict(False, "The virus scanner found Win.Test.EICAR_HDB-1."),
        ),
        (
            "INSTREAM size limit exceeded. ERROR",
            scanning.Verdict(False, "The file is larger than the virus scanner takes."),
        ),
    ],
)
def test_clamds_answers(reply, verdict):
    assert scanning._verdict(reply) == verdict


def test_an_answer_clamd_never_gives_is_no_verdict():
    with pytest.raises(scanning.ScannerUnavailable):
        scanning._verdict("stream: something else")
