"""Where attachments' bytes are kept and how they are served safely.

The `attachments` storage follows the same switch as exports (TRANSFERS_STORAGE: a folder
on disk, ATTACHMENTS_ROOT, or the S3 bucket configured by django-storages' AWS_* settings),
so operators configure storage once. Uploads are streamed to the storage in chunks and
hashed on the way; more than ATTACHMENT_MAX_BYTES stops the upload at once (TooLarge).

With S3, large files skip the web workers: the client PUTs them straight to the store
through an upload URL signed for exactly the promised size and type (upload_url), and
downloads are redirects to short-lived signed URLs whose response overrides set the
headers the service would have set (download_url).

Serving: only raster images detected from the bytes (PNG, JPEG, GIF, WebP) may be shown
inline; everything else is an `attachment` of type application/octet-stream. The client's
filename only ever reaches the Content-Disposition header, sanitised (RFC 6266 filename*).
"""

import hashlib
import os
import tempfile
import unicodedata
from urllib.parse import quote

import puremagic
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from storages.backends.s3 import S3Storage

ALIAS = "attachments"
CHUNK = 64 * 1024
# What detection needs to see of a file.
HEAD_BYTES = 8192
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
SAFE_DEFAULT = "application/octet-stream"
# Headers on every file the service streams itself.
SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}


# What the S3 store raises when it cannot be reached or refuses the service (the local
# folder's own failures are OSErrors).
STORE_ERRORS = (BotoCoreError, ClientError)


class TooLarge(Exception):
    """The upload passed ATTACHMENT_MAX_BYTES; nothing was stored."""


def attachments_storage():
    return storages[ALIAS]


def _raster_type(head: bytes) -> str | None:
    """The raster image type `head` starts with, from its magic bytes only."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def detect_type(head: bytes) -> str:
    """The content type of a file from its first bytes: a raster image type when its magic
    says so, else what puremagic finds (for the metadata), else application/octet-stream.
    Never from the file's name or the client's claim."""
    raster = _raster_type(head)
    if raster:
        return raster
    try:
        found = puremagic.magic_string(head) if head else []
    except (puremagic.PureError, ValueError):
        found = []
    for match in found:
        if match.mime_type:
            return match.mime_type
    return SAFE_DEFAULT


def is_inline(content_type: str) -> bool:
    return content_type in INLINE_TYPES


def serving_type(content_type: str) -> str:
    """The Content-Type a download is served with: the raster type, or octet-stream, so no
    browser can be asked to render HTML, SVG, XML or script from it."""
    return content_type if is_inline(content_type) else SAFE_DEFAULT


def safe_filename(name: str) -> str:
    """`name` reduced to a file name fit for a header: its last path component, no control
    characters, no quotes or separators, at most 200 characters; "file" if nothing is left."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(
        c for c in name if unicodedata.category(c)[0] != "C" and c not in '"<>:|?*;'
    ).strip(" .")
    return cleaned[:200] or "file"


def content_disposition(filename: str, content_type: str) -> str:
    """The Content-Disposition for a download (RFC 6266): inline only for raster images,
    an ASCII fallback `filename` and the exact name in `filename*`."""
    name = safe_filename(filename)
    disposition = "inline" if is_inline(content_type) else "attachment"
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def measure(chunks, limit: int | None = None, sink=None) -> dict:
    """Size, sha256 and detected type of the bytes in `chunks`, written on to `sink` (a
    file) if given; TooLarge as soon as more than `limit` bytes (ATTACHMENT_MAX_BYTES)
    have come, so nothing past the limit is read."""
    limit = settings.ATTACHMENT_MAX_BYTES if limit is None else limit
    digest = hashlib.sha256()
    size = 0
    head = b""
    for chunk in chunks:
        if not chunk:
            continue
        size += len(chunk)
        if size > limit:
            raise TooLarge
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        digest.update(chunk)
        if sink is not None:
            sink.write(chunk)
    return {"size": size, "sha256": digest.hexdigest(), "content_type": detect_type(head)}


def store_stream(chunks, key: str, limit: int | None = None) -> dict:
    """Write the byte chunks of an upload to the storage under `key`, through a temporary
    file (so memory stays flat), hashing them; raise TooLarge as soon as more than `limit`
    bytes arrive, leaving nothing stored. Answers size, sha256 and the detected type."""
    with tempfile.TemporaryFile() as spool:
        measured = measure(chunks, limit, sink=spool)
        spool.seek(0)
        saved = attachments_storage().save(key, File(spool, name=os.path.basename(key)))
    if saved != key:  # pragma: no cover - keys are random and file_overwrite is off
        raise RuntimeError(f"storage saved {key!r} as {saved!r}")
    return measured


def stored_size(key: str) -> int | None:
    """The stored object's size in bytes; None if there is no such object."""
    storage = attachments_storage()
    if not storage.exists(key):
        return None
    return storage.size(key)


# -- straight to and from the store (S3) -----------------------------------------------


def direct_transfers() -> bool:
    """Whether clients upload and download straight to and from the store (S3): the
    local folder has no URLs of its own, so its files pass through the service."""
    return isinstance(attachments_storage(), S3Storage)


def upload_url(key: str, *, size: int, content_type: str) -> str:
    """A URL the client PUTs the file to, valid for ATTACHMENT_UPLOAD_URL_SECONDS and signed
    for this key, this exact Content-Length and this Content-Type: the store itself refuses
    any other size or type, an altered signature or a late upload."""
    return _signed_url(
        "put_object",
        key,
        settings.ATTACHMENT_UPLOAD_URL_SECONDS,
        ContentType=content_type,
        ContentLength=size,
    )


def download_url(key: str, *, filename: str, content_type: str) -> str:
    """A URL the file downloads from, valid for ATTACHMENT_DOWNLOAD_URL_SECONDS, whose
    signed response overrides make the store answer with the headers the service would
    send itself: the same Content-Disposition, and the raster type or octet-stream."""
    return _signed_url(
        "get_object",
        key,
        settings.ATTACHMENT_DOWNLOAD_URL_SECONDS,
        ResponseContentDisposition=content_disposition(filename, content_type),
        ResponseContentType=serving_type(content_type),
        ResponseCacheControl="private, no-store",
    )


def _signed_url(operation: str, key: str, seconds: int, **params) -> str:
    """A URL for the S3 `operation` on the object `key`, signed for `params` and valid for
    `seconds`. Signed through the bucket's client, not storage.url(): with
    AWS_S3_CUSTOM_DOMAIN that answers an unsigned URL, which would never expire."""
    storage = attachments_storage()
    return storage.bucket.meta.client.generate_presigned_url(
        operation,
        Params={"Bucket": storage.bucket_name, "Key": storage._normalize_name(key), **params},
        ExpiresIn=seconds,
        HttpMethod="PUT" if operation == "put_object" else "GET",
    )


def read_chunks(key: str):
    """The stored file's bytes, in chunks (a streamed download, a checksum, a scan)."""
    storage = attachments_storage()
    if isinstance(storage, S3Storage):
        # Straight from the response body: S3Storage.open() would first copy the whole
        # object into a spooled file, in memory by default (AWS_S3_MAX_MEMORY_SIZE=0).
        body = storage.bucket.Object(storage._normalize_name(key)).get()["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()
        return
    with storage.open(key, "rb") as stored:
        while chunk := stored.read(CHUNK):
            yield chunk


def delete_object(key: str) -> None:
    """Delete the stored object; deleting one already gone is fine (retries)."""
    attachments_storage().delete(key)
