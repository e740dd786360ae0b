"""Where export files and uploaded import files are kept: the `transfers` storage
(settings: TRANSFERS_STORAGE, a folder on disk by default or an S3 bucket), and the links
that download an export for a while: presigned by S3 itself, or signed here for a folder
on disk (served by ExportViewSet.download)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.files.storage import FileSystemStorage, storages
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

ALIAS = "transfers"
SALT = "transfers.export-download"
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def transfers_storage():
    return storages[ALIAS]


def download_name(export) -> str:
    """The file name a download is saved as."""
    key = export.project.key if export.project else "export"
    return f"{key}-issues-{export.pk}.{export.format}"


def download_link(export, request) -> tuple[str, datetime]:
    """A link that downloads the export's file, and when it stops working."""
    seconds = settings.EXPORT_LINK_SECONDS
    expires = timezone.now() + timedelta(seconds=seconds)
    storage = transfers_storage()
    if isinstance(storage, FileSystemStorage):
        signature = signing.TimestampSigner(salt=SALT).sign_object(
            {"export": export.pk, "file": export.file}
        )
        path = reverse("export-file-download", kwargs={"export_id": export.pk})
        return request.build_absolute_uri(f"{path}?{urlencode({'signature': signature})}"), expires
    # S3 (django-storages): a presigned URL, answered by the bucket as an attachment.
    parameters = {
        "ResponseContentDisposition": f'attachment; filename="{download_name(export)}"',
        "ResponseContentType": CONTENT_TYPES[export.format],
    }
    return storage.url(export.file, parameters=parameters, expire=seconds), expires


def download_signature_valid(export, signature: str) -> bool:
    """Whether `signature` was made by download_link for this export's file, and is still
    within EXPORT_LINK_SECONDS."""
    try:
        signed = signing.TimestampSigner(salt=SALT).unsign_object(
            signature, max_age=settings.EXPORT_LINK_SECONDS
        )
    except signing.BadSignature:
        return False
    return signed == {"export": export.pk, "file": export.file}
