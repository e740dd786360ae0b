"""Attachments in an S3-compatible store (`rclone serve s3`, which checks signatures, their
expiry and the headers they sign): two-step uploads straight to the store, downloads as
redirects to short-lived signed URLs, and what the store itself refuses."""

import hashlib
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from attachments.models import Attachment
from attachments.services import attachments_forget_pending
from events.models import Event
from issues.models import IssueEvent
from tests.conftest import S3_ACCESS_KEY, S3_SECRET_KEY
from tests.factories import CommentFactory

from .conftest import EICAR
from .test_scanning import closed_port
from .test_storage import HTML, PNG, POLYGLOT, SVG

pytestmark = pytest.mark.django_db


@pytest.fixture
def bucket(s3_attachments):
    return s3_attachments


def stored(bucket: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(bucket)): path.read_bytes()
        for path in bucket.rglob("*")
        if path.is_file()
    }


def http(method: str, url: str, data: bytes | None = None, headers=None):
    """The store's answer to a plain HTTP request, as a client without the keys makes it:
    (status, headers, body)."""
    request = urllib.request.Request(  # noqa: S310 - the local test store
        url, data=data, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request) as response:  # noqa: S310 - the local test store
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def begin(client, issue, data: bytes, name="shot.png", content_type="image/png", **changes):
    promised = {
        "filename": name,
        "size": len(data),
        "content_type": content_type,
        "sha256": hashlib.sha256(data).hexdigest(),
        **changes,
    }
    return client.post(f"/api/v1/issues/{issue.key}/attachments", promised, format="json")


def put(ticket: dict, data: bytes, **header_changes):
    headers = {**ticket["upload"]["headers"], **header_changes}
    headers.pop("Content-Length")  # urllib sends the real length of `data`
    return http("PUT", ticket["upload"]["url"], data, headers)


def complete(client, ticket: dict, callbacks):
    with callbacks(execute=True):
        return client.post(f"/api/v1/attachments/{ticket['id']}/complete")


def test_limits_say_files_may_go_straight_to_the_store(client, bucket):
    assert client.get("/api/v1/limits").json()["attachment_direct_upload"] is True


def test_two_step_upload_goes_straight_to_the_store_and_completes(
    issue, reporter, client_for, bucket, django_capture_on_commit_callbacks
):
    client = client_for(reporter)
    begun = begin(client, issue, PNG)

    assert begun.status_code == 201, begun.content
    ticket = begun.json()
    assert (ticket["status"], ticket["reason"]) == ("pending", "Waiting for the upload.")
    assert ticket["size"] == len(PNG) and ticket["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert begun["Location"] == ticket["url"]
    upload = ticket["upload"]
    assert upload["method"] == "PUT"
    assert upload["headers"] == {"Content-Type": "image/png", "Content-Length": str(len(PNG))}
    query = parse_qs(urlsplit(upload["url"]).query)
    assert query["X-Amz-Expires"] == ["600"]
    assert query["X-Amz-SignedHeaders"] == ["content-length;content-type;host"]
    attachment = Attachment.objects.get(pk=ticket["id"])
    assert attachment.status == "pending" and attachment.content_type == ""
    issue.refresh_from_db()
    assert issue.attachment_count == 1  # listed from the first step on
    assert not Event.objects.filter(type="attachment.created").exists()  # not yet

    assert put(ticket, PNG)[0] == 200
    assert stored(bucket) == {f"attachments/{attachment.key}": PNG}

    done = complete(client, ticket, django_capture_on_commit_callbacks)
    assert done.status_code == 200, done.content
    body = done.json()
    assert (body["status"], body["reason"], body["content_type"]) == ("available", "", "image/png")
    attachment.refresh_from_db()
    assert (attachment.status, attachment.content_type) == ("available", "image/png")
    (event,) = Event.objects.filter(type="attachment.created")
    assert event.data["id"] == attachment.pk
    assert IssueEvent.objects.filter(issue=issue, kind="attached").count() == 1

    # Completing again changes nothing.
    again = complete(client, ticket, django_capture_on_commit_callbacks)
    assert again.status_code == 200 and again.json()["status"] == "available"
    assert Event.objects.filter(type="attachment.created").count() == 1


def test_a_comments_file_goes_the_same_way(
    issue, reporter, client_for, bucket, django_capture_on_commit_callbacks
):
    comment = CommentFactory(issue=issue)
    client = client_for(reporter)
    data = b"2026-12-05 ERROR boom\n"
    promised = {
        "filename": "app.log",
        "size": len(data),
        "content_type": "text/plain",
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    begun = client.post(f"/api/v1/comments/{comment.pk}/attachments", promised, format="json")
    assert begun.status_code == 201, begun.content
    assert put(begun.json(), data)[0] == 200
    done = complete(client, begun.json(), django_capture_on_commit_callbacks).json()
    assert (done["status"], done["comment"]) == ("available", comment.pk)


def test_the_signed_url_refuses_another_size_or_type_a_tampered_or_expired_signature(
    issue, reporter, client_for, bucket, settings, django_capture_on_commit_callbacks
):
    client = client_for(reporter)
    ticket = begin(client, issue, PNG).json()

    longer = put(ticket, PNG + b"more")
    assert longer[0] == 403 and b"SignatureDoesNotMatch" in longer[2]
    assert put(ticket, PNG[:-1])[0] == 403
    other_type = put(ticket, PNG, **{"Content-Type": "text/html"})
    assert other_type[0] == 403 and b"SignatureDoesNotMatch" in other_type[2]
    tampered = dict(ticket, upload=dict(ticket["upload"]))
    tampered["upload"]["url"] = ticket["upload"]["url"].replace(
        "X-Amz-Signature=", "X-Amz-Signature=0"
    )
    assert put(tampered, PNG)[0] == 403

    settings.ATTACHMENT_UPLOAD_URL_SECONDS = 1
    short = begin(client, issue, PNG).json()
    assert parse_qs(urlsplit(short["upload"]["url"]).query)["X-Amz-Expires"] == ["1"]
    time.sleep(2.1)
    expired = put(short, PNG)
    assert expired[0] in (400, 403) and b"AccessDenied" in expired[2]

    assert stored(bucket) == {}  # none of them reached the store
    missing = complete(client, ticket, django_capture_on_commit_callbacks)
    assert missing.status_code == 409
    assert missing.json()["code"] == "upload_missing"
    assert Attachment.objects.get(pk=ticket["id"]).status == "pending"


def test_completing_checks_the_checksum_and_rejects_a_different_file(
    issue, reporter, client_for, bucket, django_capture_on_commit_callbacks
):
    client = client_for(reporter)
    ticket = begin(client, issue, PNG).json()
    forged = b"\x89PNG" + b"\xff" * (len(PNG) - 4)  # same size and type, other bytes
    assert put(ticket, forged)[0] == 200

    done = complete(client, ticket, django_capture_on_commit_callbacks)

    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "rejected"
    assert body["reason"] == (
        f"The stored file's SHA-256 is {hashlib.sha256(forged).hexdigest()}, "
        f"not the {hashlib.sha256(PNG).hexdigest()} promised."
    )
    assert stored(bucket) == {}  # deleted
    assert client.get(body["download_url"]).status_code == 409
    assert not Event.objects.filter(type="attachment.created").exists()


def test_an_object_larger_than_promised_is_rejected_and_deleted(
    issue, reporter, client_for, bucket, settings, django_capture_on_commit_callbacks
):
    """However it got there (a store that ignores signed lengths, say)."""
    client = client_for(reporter)
    ticket = begin(client, issue, PNG).json()
    key = Attachment.objects.get(pk=ticket["id"]).key
    store = boto3.client(
        "s3",
        endpoint_url=settings.AWS_S3_ENDPOINT_URL,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    store.put_object(Bucket=bucket.name, Key=f"attachments/{key}", Body=PNG + b"x" * 100)

    body = complete(client, ticket, django_capture_on_commit_callbacks).json()

    assert body["status"] == "rejected"
    assert body["reason"] == (
        f"The stored file is {len(PNG) + 100} bytes, not the {len(PNG)} promised."
    )
    assert stored(bucket) == {}


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"size": 1001}, "size"),
        ({"size": -1}, "size"),
        ({"sha256": "abc"}, "sha256"),
        ({"content_type": "image/png\r\nX-Evil: 1"}, "content_type"),
        ({"content_type": "png"}, "content_type"),
        ({"filename": ""}, "filename"),
    ],
)
def test_a_first_step_with_bad_promises_is_refused(
    issue, reporter, client_for, bucket, settings, changes, field
):
    settings.ATTACHMENT_MAX_BYTES = 1000
    response = begin(client_for(reporter), issue, PNG, **changes)
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert not Attachment.objects.exists()


def test_a_first_step_over_the_limit_says_so(issue, reporter, client_for, bucket, settings):
    settings.ATTACHMENT_MAX_BYTES = 1000
    response = begin(client_for(reporter), issue, PNG, size=1001)
    assert response.json()["errors"] == [
        {
            "field": "size",
            "message": "The file is larger than the limit of 1000 bytes.",
            "code": "file_too_large",
        }
    ]


def test_only_the_uploader_completes(
    issue, reporter, maintainer, client_for, bucket, django_capture_on_commit_callbacks
):
    ticket = begin(client_for(reporter), issue, PNG).json()
    assert put(ticket, PNG)[0] == 200
    refused = complete(client_for(maintainer), ticket, django_capture_on_commit_callbacks)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "Only the attachment's uploader may complete its upload."
    assert Attachment.objects.get(pk=ticket["id"]).status == "pending"


def test_downloads_redirect_to_a_short_lived_signed_url_with_safe_headers(
    issue, reporter, client_for, bucket, settings, django_capture_on_commit_callbacks
):
    client = client_for(reporter)
    served = {}
    for name, data in (("shot.png", PNG), ("evil.png", SVG), ("page.png", HTML)):
        ticket = begin(client, issue, data, name=name).json()
        assert put(ticket, data)[0] == 200
        done = complete(client, ticket, django_capture_on_commit_callbacks).json()
        response = client.get(done["download_url"])
        assert response.status_code == 302
        assert response["Cache-Control"] == "private, no-store"
        link = response["Location"]
        assert link.startswith(f"{settings.AWS_S3_ENDPOINT_URL}/{bucket.name}/attachments/a/")
        assert parse_qs(urlsplit(link).query)["X-Amz-Expires"] == ["300"]
        status, headers, body = http("GET", link)
        assert status == 200 and body == data
        served[name] = (headers["Content-Type"], headers["Content-Disposition"])

    assert served["shot.png"] == (
        "image/png",
        "inline; filename=\"shot.png\"; filename*=UTF-8''shot.png",
    )
    # An SVG and an HTML page named .png are never shown: octet-stream, as attachments.
    for name in ("evil.png", "page.png"):
        content_type, disposition = served[name]
        assert content_type == "application/octet-stream"
        assert disposition.startswith("attachment;")


def test_a_polyglot_is_served_only_as_a_png(
    issue, reporter, client_for, bucket, django_capture_on_commit_callbacks
):
    client = client_for(reporter)
    ticket = begin(client, issue, POLYGLOT, name="x.html", content_type="text/html").json()
    assert put(ticket, POLYGLOT)[0] == 200
    done = complete(client, ticket, django_capture_on_commit_callbacks).json()
    assert done["content_type"] == "image/png"
    status, headers, _ = http("GET", client.get(done["download_url"])["Location"])
    assert status == 200 and headers["Content-Type"] == "image/png"


def test_a_download_url_stops_working_when_it_expires(
    issue, reporter, client_for, bucket, settings, django_capture_on_commit_callbacks
):
    settings.ATTACHMENT_DOWNLOAD_URL_SECONDS = 1
    client = client_for(reporter)
    ticket = begin(client, issue, PNG).json()
    put(ticket, PNG)
    done = complete(client, ticket, django_capture_on_commit_callbacks).json()
    link = client.get(done["download_url"])["Location"]
    assert http("GET", link)[0] == 200
    tampered = link.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert http("GET", tampered)[0] == 403
    time.sleep(2.1)
    status, _, body = http("GET", link)
    assert status in (400, 403) and PNG not in body


def test_a_direct_upload_still_works_and_deleting_removes_the_object(
    issue, reporter, client_for, bucket, django_capture_on_commit_callbacks
):
    client = client_for(reporter)
    response = client.post(
        f"/api/v1/issues/{issue.key}/attachments",
        {"file": SimpleUploadedFile("notes.txt", b"small file")},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    attachment = Attachment.objects.get()
    assert stored(bucket) == {f"attachments/{attachment.key}": b"small file"}
    link = client.get(response.json()["download_url"])["Location"]
    assert http("GET", link)[2] == b"small file"

    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(response.json()["url"]).status_code == 204
    assert stored(bucket) == {}


def test_an_upload_never_completed_is_removed_with_its_object(
    issue, reporter, client_for, bucket, django_capture_on_commit_callbacks
):
    client = client_for(reporter)
    ticket = begin(client, issue, PNG).json()
    put(ticket, PNG)
    later = timezone.now() + timedelta(hours=1)

    with django_capture_on_commit_callbacks(execute=True):
        assert attachments_forget_pending(older_than=later) == 1

    assert not Attachment.objects.exists() and stored(bucket) == {}
    issue.refresh_from_db()
    assert issue.attachment_count == 0
    # Never announced, so neither is its end.
    assert not Event.objects.filter(type__startswith="attachment.").exists()


def test_with_a_scanner_a_completed_upload_waits_for_it_and_an_infected_one_goes(
    clamd, issue, reporter, client_for, bucket, django_capture_on_commit_callbacks
):
    client = client_for(reporter)
    verdicts = {}
    for name, data in (("clean.log", b"all good"), ("eicar.com", EICAR)):
        ticket = begin(client, issue, data, name=name, content_type="text/plain").json()
        assert put(ticket, data)[0] == 200
        answered = complete(client, ticket, django_capture_on_commit_callbacks).json()
        assert (answered["status"], answered["reason"]) == (
            "pending",
            "Waiting for the virus scan.",
        )
        verdicts[name] = Attachment.objects.get(pk=ticket["id"])  # scanned on commit

    assert clamd.received == [b"all good", EICAR]  # read from the bucket
    assert verdicts["clean.log"].status == "available"
    assert verdicts["eicar.com"].status == "rejected"
    assert verdicts["eicar.com"].reason == "The virus scanner found Eicar-Test-Signature."
    assert stored(bucket) == {f"attachments/{verdicts['clean.log'].key}": b"all good"}


def test_a_store_that_is_down_is_a_503_and_changes_nothing(
    issue, reporter, client_for, bucket, settings, django_capture_on_commit_callbacks
):
    client = client_for(reporter)
    ticket = begin(client, issue, PNG).json()
    assert put(ticket, PNG)[0] == 200
    down = dict(settings.STORAGES["attachments"])
    down["OPTIONS"] = {**down["OPTIONS"], "endpoint_url": f"http://127.0.0.1:{closed_port()}"}
    settings.STORAGES = {**settings.STORAGES, "attachments": down}

    refused = complete(client, ticket, django_capture_on_commit_callbacks)
    assert refused.status_code == 503
    assert refused.json()["code"] == "store_unavailable"
    assert Attachment.objects.get(pk=ticket["id"]).status == "pending"

    direct = client.post(
        f"/api/v1/issues/{issue.key}/attachments",
        {"file": SimpleUploadedFile("notes.txt", b"small file")},
        format="multipart",
    )
    assert direct.status_code == 503
    assert Attachment.objects.count() == 1
