"""Attachments through the API: direct uploads (multipart and raw body), the limit, the
metadata, deletion, and downloads that no file can turn against its reader."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from attachments.models import Attachment
from projects.models import Project
from tests.factories import CommentFactory, UserFactory

from .test_storage import HTML, PNG, POLYGLOT, SVG

pytestmark = pytest.mark.django_db


def upload(client, issue, name, data):
    url = f"/api/v1/issues/{issue.key}/attachments"
    return client.post(url, {"file": SimpleUploadedFile(name, data)}, format="multipart")


def raw_upload(client, url, name, data, content_type="application/octet-stream"):
    return client.generic("POST", f"{url}?filename={name}", data, content_type=content_type)


def test_multipart_upload_stores_and_describes_the_file(
    issue, reporter, client_for, _attachments_storage
):
    response = upload(client_for(reporter), issue, "shot.png", PNG)
    assert response.status_code == 201, response.content
    data = response.json()
    attachment = Attachment.objects.get(pk=data["id"])
    assert data["filename"] == "shot.png"
    assert data["size"] == len(PNG)
    assert data["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert data["content_type"] == "image/png"
    assert data["status"] == "available"
    assert data["issue"] == issue.key and data["comment"] is None
    assert data["uploader"]["id"] == reporter.pk
    assert data["download_url"].endswith(f"/api/v1/attachments/{attachment.pk}/content")
    assert data["upload"] is None  # nothing more to send
    assert response["Location"] == data["url"]
    assert (_attachments_storage / attachment.key).read_bytes() == PNG
    assert attachment.uploader == reporter and attachment.issue == issue


def test_raw_body_upload_on_a_comment(issue, reporter, client_for, _attachments_storage):
    comment = CommentFactory(issue=issue)
    url = f"/api/v1/comments/{comment.pk}/attachments"
    response = raw_upload(client_for(reporter), url, "log.txt", b"line 1\nline 2\n", "text/plain")
    assert response.status_code == 201, response.content
    attachment = Attachment.objects.get()
    assert attachment.comment == comment and attachment.issue == issue
    assert attachment.filename == "log.txt" and attachment.size == 14
    listed = client_for(reporter).get(url).json()
    assert [row["id"] for row in listed["results"]] == [attachment.pk]


def test_raw_body_needs_a_filename(issue, reporter, client_for, _attachments_storage):
    url = f"/api/v1/issues/{issue.key}/attachments"
    response = client_for(reporter).generic("POST", url, b"abc", content_type="text/plain")
    assert response.status_code == 400
    assert "filename" in response.content.decode()
    assert not Attachment.objects.exists()


def test_over_the_limit_is_413_with_nothing_stored(
    issue, reporter, client_for, settings, _attachments_storage
):
    settings.ATTACHMENT_MAX_BYTES = 100
    response = upload(client_for(reporter), issue, "big.bin", b"x" * 101)
    assert response.status_code == 413
    url = f"/api/v1/issues/{issue.key}/attachments"
    response = raw_upload(client_for(reporter), url, "big.bin", b"x" * 70_000)
    assert response.status_code == 413
    assert not Attachment.objects.exists()
    assert not _attachments_storage.exists() or not any(_attachments_storage.rglob("*.*"))
    assert not [p for p in _attachments_storage.rglob("*") if p.is_file()]


@pytest.mark.parametrize("data", [SVG, HTML])
def test_svg_and_html_named_png_are_never_inline(issue, reporter, client_for, data):
    created = upload(client_for(reporter), issue, "innocent.png", data).json()
    response = client_for(reporter).get(created["download_url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert b"".join(response.streaming_content) == data


def test_polyglot_is_served_only_as_png(issue, reporter, client_for):
    created = upload(client_for(reporter), issue, "x.html", POLYGLOT).json()
    response = client_for(reporter).get(created["download_url"])
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"


def test_filename_is_sanitised_for_the_header(issue, reporter, client_for):
    created = upload(client_for(reporter), issue, "résumé.txt", b"hello").json()
    response = client_for(reporter).get(created["download_url"])
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9.txt" in response["Content-Disposition"]


def test_delete_removes_the_row_and_the_object_after_commit(
    issue, reporter, client_for, _attachments_storage, django_capture_on_commit_callbacks
):
    created = upload(client_for(reporter), issue, "a.txt", b"abc").json()
    key = Attachment.objects.get().key
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(reporter).delete(created["url"])
    assert response.status_code == 204
    assert not Attachment.objects.exists()
    assert not (_attachments_storage / key).exists()


def test_archived_project_refuses_uploads(issue, reporter, client_for, _attachments_storage):
    Project.objects.filter(pk=issue.project_id).update(archived_at="2026-01-01T00:00:00Z")
    response = upload(client_for(reporter), issue, "a.txt", b"abc")
    assert response.status_code in (403, 409)
    assert not Attachment.objects.exists()
    assert not [p for p in _attachments_storage.rglob("*") if p.is_file()]


def test_outsider_gets_404_everywhere(issue, reporter, client_for):
    created = upload(client_for(reporter), issue, "a.txt", b"abc").json()
    outsider = client_for(UserFactory())
    assert outsider.get(created["url"]).status_code == 404
    assert outsider.get(created["download_url"]).status_code == 404
    assert outsider.delete(created["url"]).status_code == 404
    assert upload(outsider, issue, "b.txt", b"x").status_code == 404
    assert Attachment.objects.count() == 1


def test_limits_publish_the_setting(client, settings):
    settings.ATTACHMENT_MAX_BYTES = 1234
    response = client.get("/api/v1/limits")
    assert response.status_code == 200
    assert response.json() == {"attachment_max_bytes": 1234, "attachment_direct_upload": False}


def test_list_runs_the_same_queries_whatever_the_page_size(issue, reporter, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(reporter)
    url = f"/api/v1/issues/{issue.key}/attachments"
    upload(client, issue, "one.txt", b"1")
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(url).json()["results"]) == 1
    for n in range(4):
        upload(client, issue, f"more{n}.txt", b"2")
    with CaptureQueriesContext(connection) as five:
        assert len(client.get(url).json()["results"]) == 5
    assert len(five) == len(one)


def test_an_empty_file_with_a_blank_name_keeps_its_own_name(issue, reporter, client_for):
    response = client_for(reporter).post(
        f"/api/v1/issues/{issue.key}/attachments",
        {"file": SimpleUploadedFile("empty.log", b""), "filename": ""},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert (response.json()["filename"], response.json()["size"]) == ("empty.log", 0)
    assert Attachment.objects.get().size == 0


@pytest.mark.parametrize("query", ["", "?filename=", "?filename=data.json"])
def test_two_step_uploads_need_an_s3_store(issue, reporter, client_for, query):
    """A JSON body is always a two-step upload's first step."""
    promised = {"filename": "a.png", "size": 3, "content_type": "image/png", "sha256": "0" * 64}
    response = client_for(reporter).post(
        f"/api/v1/issues/{issue.key}/attachments{query}", promised, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "direct_upload_unavailable"
    assert not Attachment.objects.exists()


def test_a_json_file_is_uploaded_raw_as_octet_stream(issue, reporter, client_for):
    url = f"/api/v1/issues/{issue.key}/attachments"
    response = raw_upload(client_for(reporter), url, "data.json", b'{"a": 1}')
    assert response.status_code == 201, response.content
    assert Attachment.objects.get().size == 8


def test_a_json_body_that_is_not_json_is_a_400(issue, reporter, client_for):
    url = f"/api/v1/issues/{issue.key}/attachments?filename=x.json"
    response = client_for(reporter).generic("POST", url, b"@\x00{", "application/json")
    assert response.status_code == 400
    assert not Attachment.objects.exists()
