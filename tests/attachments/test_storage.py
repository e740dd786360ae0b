"""The attachments storage: streamed saves with the size limit, type detection from the
bytes, and the headers that keep a download from running in a reader's browser."""

import hashlib

import pytest

from attachments import storage

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
POLYGLOT = PNG + b"<html><script>alert(1)</script></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>'
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


def test_store_stream_saves_hashes_and_detects(_attachments_storage):
    chunks = [PNG[:10], PNG[10:], b"more"]
    result = storage.store_stream(iter(chunks), "a/one", limit=1000)
    data = b"".join(chunks)
    assert result == {
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "content_type": "image/png",
    }
    assert (_attachments_storage / "a" / "one").read_bytes() == data
    assert b"".join(storage.read_chunks("a/one")) == data


def test_store_stream_over_the_limit_stores_nothing(_attachments_storage):
    with pytest.raises(storage.TooLarge):
        storage.store_stream(iter([b"x" * 600, b"x" * 600]), "a/big", limit=1000)
    assert not (_attachments_storage / "a" / "big").exists()
    assert not storage.attachments_storage().exists("a/big")


def test_store_stream_exactly_at_the_limit_is_kept(_attachments_storage):
    result = storage.store_stream(iter([b"x" * 1000]), "a/edge", limit=1000)
    assert result["size"] == 1000
    assert (_attachments_storage / "a" / "edge").stat().st_size == 1000


def test_delete_object_twice_is_fine(_attachments_storage):
    storage.store_stream(iter([b"abc"]), "a/gone", limit=10)
    storage.delete_object("a/gone")
    storage.delete_object("a/gone")
    assert not (_attachments_storage / "a" / "gone").exists()


@pytest.mark.parametrize(
    "head,expected",
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "image/jpeg"),
        (b"GIF89a" + b"\x00" * 20, "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 20, "image/webp"),
        (POLYGLOT, "image/png"),
    ],
)
def test_raster_images_are_detected_from_their_bytes(head, expected):
    assert storage.detect_type(head) == expected
    assert storage.is_inline(storage.detect_type(head))


@pytest.mark.parametrize("head", [SVG, HTML, b"%PDF-1.7\n", b"plain text log\n", b""])
def test_everything_else_is_never_inline(head):
    detected = storage.detect_type(head)
    assert not storage.is_inline(detected)
    assert storage.serving_type(detected) == "application/octet-stream"
    assert storage.content_disposition("shot.png", detected).startswith("attachment;")


def test_polyglot_is_served_only_as_png():
    detected = storage.detect_type(POLYGLOT)
    assert storage.serving_type(detected) == "image/png"
    assert storage.content_disposition("x.html", detected).startswith("inline;")
    assert storage.SAFE_HEADERS["X-Content-Type-Options"] == "nosniff"
    assert storage.SAFE_HEADERS["Content-Security-Policy"] == "sandbox"


@pytest.mark.parametrize(
    "name,expected",
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\log.txt", "log.txt"),
        ('a"b;c\r\nSet-Cookie: x.txt', "abcSet-Cookie x.txt"),
        ("", "file"),
        ("..", "file"),
        ("résumé 😀.txt", "résumé 😀.txt"),
    ],
)
def test_safe_filename(name, expected):
    assert storage.safe_filename(name) == expected


def test_content_disposition_rfc6266():
    header = storage.content_disposition("résumé.txt", "text/plain")
    assert header == "attachment; filename=\"r_sum_.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"
    assert "\r" not in storage.content_disposition("a\r\nb", "text/plain")


def test_a_100_mb_upload_keeps_memory_flat(_attachments_storage):
    """Measured: storing 100 MB streamed in chunks never holds more than a few of them."""
    import tracemalloc

    chunk = b"x" * storage.CHUNK
    count = 100 * 1024 * 1024 // storage.CHUNK

    def chunks():
        for _ in range(count):
            yield chunk

    tracemalloc.start()
    try:
        result = storage.store_stream(chunks(), "a/huge", limit=200 * 1024 * 1024)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result["size"] == 100 * 1024 * 1024
    assert (_attachments_storage / "a" / "huge").stat().st_size == 100 * 1024 * 1024
    assert peak < 4 * 1024 * 1024, peak
