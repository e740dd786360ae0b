"""One HTTP request to a server on loopback, and its answer as data: a tool's checks read
the status, the parsed body, the headers and when it started and ended."""

import http.client
import json
import time
from dataclasses import dataclass, field


@dataclass
class Answer:
    status: int | None  # None: no HTTP answer (connection refused or reset, timeout)
    body: object = None  # parsed JSON; else the first 200 bytes
    headers: object = field(default_factory=dict)  # case-insensitive when answered
    error: str = ""  # why there was no answer
    started: float = 0.0  # time.monotonic()
    ended: float = 0.0
    raw: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def code(self) -> str:
        """The problem document's `code`, or ""."""
        return self.body.get("code", "") if isinstance(self.body, dict) else ""

    @property
    def problem_json(self) -> bool:
        return self.headers.get("content-type") == "application/problem+json" and bool(self.code)

    def text(self) -> str:
        return self.raw.decode(errors="replace")


def request(port, method, path, token=None, body=None, headers=None, timeout=30) -> Answer:
    """One request on its own connection (a killed worker costs only what it was serving):
    `body` is sent as JSON, `token` as a bearer token."""
    headers = {"Connection": "close", **(headers or {})}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body)
        headers["Content-Type"] = "application/json"
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException) as e:
        return Answer(None, error=type(e).__name__, started=started, ended=time.monotonic())
    finally:
        conn.close()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw[:200]
    return Answer(response.status, parsed, response.headers, "", started, time.monotonic(), raw)
