import socketserver
import struct
import threading

import pytest

from tests.factories import IssueFactory


@pytest.fixture(autouse=True)
def _attachments_storage(attachments_folder):
    return attachments_folder


@pytest.fixture
def issue(project):
    return IssueFactory(project=project)


# A small fake clamd, started by the tests that need a virus scanner.

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class FakeClamd(socketserver.ThreadingTCPServer):
    """Answers INSTREAM as clamd does: FOUND for the EICAR test string, OK otherwise."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ClamdHandler)
        self.received: list[bytes] = []


class ClamdHandler(socketserver.BaseRequestHandler):
    def handle(self):
        command = b""
        while not command.endswith(b"\0"):
            command += self.request.recv(1)
        assert command == b"zINSTREAM\0"
        data = b""
        while True:
            (length,) = struct.unpack("!I", self._exactly(4))
            if length == 0:
                break
            data += self._exactly(length)
        self.server.received.append(data)
        found = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE" in data
        self.request.sendall(b"stream: Eicar-Test-Signature FOUND\0" if found else b"stream: OK\0")

    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            data += self.request.recv(size - len(data))
        return data


@pytest.fixture
def clamd(settings):
    server = FakeClamd()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ATTACHMENT_SCANNER = f"clamd://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()
