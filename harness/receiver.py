"""A webhook receiver on loopback: answers every POST at once and keeps what came."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Answers each POST with `status`, keeping its headers and body when `keep` (else only
    counting it); with `fail_every`, a 503 to the first attempt of every so many messages
    (by webhook-id), which is not kept. Listens on a free loopback port from creation to
    close()."""

    def __init__(self, status: int = 200, keep: bool = True, fail_every: int = 0):
        self.received = 0
        self.lock = threading.Lock()
        self._messages: list[tuple[dict, bytes]] = []  # (headers, body) of each POST
        self.attempted: set[str] = set()  # webhook-ids
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real endpoint offers

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                message_id = self.headers.get("webhook-id", "")
                with receiver.lock:
                    first = message_id not in receiver.attempted
                    receiver.attempted.add(message_id)
                    refused = first and fail_every and len(receiver.attempted) % fail_every == 0
                    receiver.received += 1
                    if keep and not refused:
                        receiver._messages.append((dict(self.headers), body))
                self.send_response(503 if refused else status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def messages(self) -> list[tuple[dict, bytes]]:
        """(headers, body) of every POST so far."""
        with self.lock:
            return list(self._messages)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
