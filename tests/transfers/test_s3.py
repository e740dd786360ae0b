"""TRANSFERS_STORAGE=s3 against a real S3-compatible server (`rclone serve s3`, which checks
signatures, on a free local port): an export is written into the bucket and downloaded
through a presigned link; an import's upload is kept there while its job runs."""

import urllib.request
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.conftest import storage_in_bucket
from transfers.models import Export, Import

from .helpers import jsonl, read_csv, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def bucket(settings, s3_bucket):
    """The transfers storage in a bucket of this test's own (TRANSFERS_STORAGE=s3)."""
    storage_in_bucket(settings, "transfers")
    return s3_bucket


def stored(bucket: Path) -> list[str]:
    return sorted(str(p.relative_to(bucket)) for p in bucket.rglob("*") if p.is_file())


def test_an_export_goes_into_the_bucket_and_downloads_through_a_presigned_link(
    rich_project, owner, client_for, jobs, bucket
):
    client = client_for(owner)
    with jobs():
        answer = client.post(f"/api/v1/projects/{rich_project.key}/exports", {"format": "csv"})

    export = Export.objects.get()
    assert export.status == "done", export.error
    assert stored(bucket) == [f"transfers/{export.file}"]
    link = client.get(answer["Location"]).json()["download_url"]
    assert link.startswith(f"{django_settings.AWS_S3_ENDPOINT_URL}/{bucket.name}/transfers/")
    assert "X-Amz-Signature=" in link and "X-Amz-Expires=600" in link
    with urllib.request.urlopen(link) as response:  # noqa: S310 - the local test server
        rows = read_csv(response.read())
    assert len(rows) == 4 and rows[0][0] == "key"
    # Tampered with, the link is refused by the store itself.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(link.replace("X-Amz-Signature=", "X-Amz-Signature=0"))  # noqa: S310
    assert refused.value.code == 403


def test_an_import_reads_its_upload_from_the_bucket_and_removes_it(
    project, owner, client_for, jobs, bucket
):
    client = client_for(owner)
    with jobs():
        answer = client.post(
            f"/api/v1/projects/{project.key}/imports",
            {"file": upload(jsonl([{"key": "A-1", "title": "From S3"}])), "format": "jsonl"},
            format="multipart",
        )
    assert answer.status_code == 202, answer.content
    imp = Import.objects.get()
    assert (imp.status, imp.created) == ("done", 1), imp.error
    assert stored(bucket) == []  # the upload went once imported


def test_expired_exports_leave_the_bucket(rich_project, owner, client_for, jobs, bucket):
    from datetime import timedelta

    from django.utils import timezone

    from transfers.services import transfers_sweep

    with jobs():
        client_for(owner).post(f"/api/v1/projects/{rich_project.key}/exports", {"format": "csv"})
    assert len(stored(bucket)) == 1
    Export.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    transfers_sweep()

    assert stored(bucket) == [] and not Export.objects.exists()
