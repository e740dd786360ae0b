"""Where attachments' bytes are kept and how they are served safely.

The `attachments` storage follows the same switch as exports (TRANSFERS_STORAGE: a folder
on disk, ATTACHMENTS_ROOT, or the S3 bucket configured by django-storages' AWS_* settings),
so operators configure storage once. Uploads are streamed to the storage in chunks and
hashed on the way; more than ATTACHMENT_MAX_BYTES stops the upload at once (TooLarge).

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
from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages

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


def store_stream(chunks, key: str, limit: int | None = None) -> dict:
    """Write the byte chunks of an upload to the storage under `key`, through a temporary
    file (so memory stays flat), hashing them; raise TooLarge as soon as more than `limit`
    bytes arrive, leaving nothing stored. Answers size, sha256 and the detected type."""
    limit = settings.ATTACHMENT_MAX_BYTES if limit is None else limit
    digest = hashlib.sha256()
    size = 0
    head = b""
    with tempfile.TemporaryFile() as spool:
        for chunk in chunks:
            if not chunk:
                continue
            size += len(chunk)
            if size > limit:
                raise TooLarge
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            digest.update(chunk)
            spool.write(chunk)
        spool.seek(0)
        saved = attachments_storage().save(key, File(spool, name=os.path.basename(key)))
    if saved != key:  # pragma: no cover - keys are random and file_overwrite is off
        raise RuntimeError(f"storage saved {key!r} as {saved!r}")
    return {"size": size, "sha256": digest.hexdigest(), "content_type": detect_type(head)}


def read_chunks(key: str):
    """The stored file's bytes, in chunks (for a streamed download)."""
    with attachments_storage().open(key, "rb") as stored:
        while chunk := stored.read(CHUNK):
            yield chunk


def delete_object(key: str) -> None:
    """Delete the stored object; deleting one already gone is fine (retries)."""
    attachments_storage().delete(key)
