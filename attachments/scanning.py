"""Scanning uploads before anyone may download them: ATTACHMENT_SCANNER names the scanner
(`clamd://host:port`: ClamAV's daemon, through its INSTREAM command over TCP). Blank: no
scanner, and uploads are available at once."""

import socket
import struct
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

# clamd reads a stream in chunks, each after its length as a 4-byte big-endian number; a
# zero length ends it.
CHUNK = 64 * 1024


class ScannerUnavailable(Exception):
    """The scanner could not be reached or did not answer: try again later."""


@dataclass(frozen=True)
class Verdict:
    clean: bool
    reason: str = ""


def scanner_configured() -> bool:
    return bool(settings.ATTACHMENT_SCANNER)


def scan(chunks) -> Verdict:
    """The scanner's verdict on the bytes of `chunks` (ScannerUnavailable if it has none)."""
    address = urlsplit(settings.ATTACHMENT_SCANNER)
    try:
        with socket.create_connection(
            (address.hostname, address.port or 3310), timeout=settings.ATTACHMENT_SCAN_TIMEOUT
        ) as connection:
            connection.sendall(b"zINSTREAM\0")
            for chunk in chunks:
                for start in range(0, len(chunk), CHUNK):
                    piece = chunk[start : start + CHUNK]
                    connection.sendall(struct.pack("!I", len(piece)) + piece)
            connection.sendall(struct.pack("!I", 0))
            reply = _read_reply(connection)
    except OSError as error:
        raise ScannerUnavailable(str(error)) from error
    return _verdict(reply)


def _read_reply(connection) -> str:
    reply = b""
    while not reply.endswith(b"\0"):
        data = connection.recv(4096)
        if not data:
            break
        reply += data
    return reply.rstrip(b"\0").decode("utf-8", "replace").strip()


def _verdict(reply: str) -> Verdict:
    """clamd's answer: `stream: OK`, `stream: <signature> FOUND`, or `... ERROR`."""
    if reply.endswith(" OK"):
        return Verdict(clean=True)
    if reply.endswith(" FOUND"):
        signature = reply.removeprefix("stream:").removesuffix("FOUND").strip()
        return Verdict(clean=False, reason=f"The virus scanner found {signature}.")
    if reply.endswith("ERROR") and "size limit" in reply:
        # clamd's StreamMaxLength is below ATTACHMENT_MAX_BYTES: never scanned, never served.
        return Verdict(clean=False, reason="The file is larger than the virus scanner takes.")
    raise ScannerUnavailable(f"Unexpected answer from the scanner: {reply!r}")
