"""Structured logs: one JSON object per line, carrying the current request's id.

Used by Django's LOGGING and by gunicorn (`logger_class` in gunicorn.conf.py), so the
application's and the server's lines share one shape. Imports nothing from Django: the
gunicorn master loads it before any settings exist.
"""

from contextvars import ContextVar

from gunicorn import glogging
from pythonjsonlogger import json

# Set by api.middleware.RequestIdMiddleware for the duration of a request.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


class JsonFormatter(json.JsonFormatter):
    """time, level, logger, message, request_id, plus whatever `extra` a caller passes."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", ["levelname", "name", "message"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        super().__init__(*args, **kwargs)

    def add_fields(self, log_data, record, message_dict):
        super().add_fields(log_data, record, message_dict)
        # django.request logs errors after the middleware has returned, but passes the request.
        log_data.setdefault(
            "request_id",
            request_id.get() or getattr(getattr(record, "request", None), "request_id", None),
        )


class GunicornLogger(glogging.Logger):
    """Gunicorn's error and access logs as JSON lines; access lines carry id and duration."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        response_headers = {name.lower(): value for name, value in resp.headers}
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
        # Only the path: query strings may carry tokens or personal data.
        self.access_log.info(
            "%s %s %s",
            method,
            path,
            status,
            extra={
                # The id the application echoed; requests that never reached it keep the
                # client's (or none).
                "request_id": response_headers.get("x-request-id")
                or environ.get("HTTP_X_REQUEST_ID"),
                "method": method,
                "path": path,
                "status": int(status),
                "duration_ms": round(request_time.total_seconds() * 1000, 3),
                "bytes": getattr(resp, "sent", None),
                "remote_addr": environ.get("REMOTE_ADDR"),
                "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
                "user_agent": environ.get("HTTP_USER_AGENT"),
            },
        )
