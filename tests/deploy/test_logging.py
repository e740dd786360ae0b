import json
import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config

from config.logging import GunicornLogger, JsonFormatter, request_id


def record(message="hello %s", args=("world",), **extra):
    log_record = logging.LogRecord("app.module", logging.WARNING, __file__, 1, message, args, None)
    log_record.__dict__.update(extra)
    return log_record


def test_formatter_writes_one_json_object_with_the_usual_fields():
    line = JsonFormatter().format(record(order=42))

    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "WARNING"
    assert data["logger"] == "app.module"
    assert data["message"] == "hello world"
    assert data["order"] == 42
    assert data["time"].endswith("+00:00")
    assert data["request_id"] is None


def test_formatter_takes_the_request_id_of_the_current_request():
    token = request_id.set("abc-123")
    try:
        data = json.loads(JsonFormatter().format(record()))
    finally:
        request_id.reset(token)

    assert data["request_id"] == "abc-123"


def test_formatter_takes_the_request_id_from_a_logged_request():
    """django.request logs after the middleware has finished, passing the request along."""
    data = json.loads(JsonFormatter().format(record(request=SimpleNamespace(request_id="r-9"))))

    assert data["request_id"] == "r-9"


def test_formatter_keeps_a_traceback_inside_the_line():
    try:
        raise ValueError("boom")
    except ValueError:
        log_record = record(message="failed", args=())
        log_record.exc_info = sys.exc_info()
    line = JsonFormatter().format(log_record)

    assert len(line.splitlines()) == 1
    assert "ValueError: boom" in json.loads(line)["exc_info"]


def gunicorn_logger(**settings):
    cfg = Config()
    cfg.set("accesslog", "-")
    for name, value in settings.items():
        cfg.set(name, value)
    return GunicornLogger(cfg)


def access(logger, response_headers, environ_extra=None):
    response = SimpleNamespace(status="201 Created", headers=response_headers, sent=17)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/issues",
        "QUERY_STRING": "token=secret",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_X_FORWARDED_FOR": "203.0.113.5",
        "HTTP_USER_AGENT": "curl/8",
        **(environ_extra or {}),
    }
    logger.access(response, None, environ, timedelta(milliseconds=12.5))


def test_gunicorn_access_log_is_json_with_request_id_and_duration(capsys):
    logger = gunicorn_logger()
    access(logger, [("Content-Type", "application/json"), ("X-Request-ID", "req-1")])

    data = json.loads(capsys.readouterr().out)
    assert data["logger"] == "gunicorn.access"
    assert data["message"] == "POST /api/v1/issues 201"
    assert data["request_id"] == "req-1"
    assert data["status"] == 201
    assert data["duration_ms"] == 12.5
    assert data["bytes"] == 17
    assert data["remote_addr"] == "10.0.0.7"
    assert data["forwarded_for"] == "203.0.113.5"
    assert "secret" not in json.dumps(data)


def test_gunicorn_access_log_falls_back_to_the_clients_request_id(capsys):
    logger = gunicorn_logger()
    access(logger, [], {"HTTP_X_REQUEST_ID": "from-client"})

    assert json.loads(capsys.readouterr().out)["request_id"] == "from-client"


def test_gunicorn_access_log_can_be_switched_off(capsys):
    cfg = Config()
    logger = GunicornLogger(cfg)
    access(logger, [("X-Request-ID", "req-1")])

    assert capsys.readouterr().out == ""


def test_gunicorn_error_log_is_json(capsys):
    gunicorn_logger(errorlog="-").info("Booting worker with pid: %s", 7)

    data = json.loads(capsys.readouterr().err)
    assert data["logger"] == "gunicorn.error"
    assert data["message"] == "Booting worker with pid: 7"


def test_local_development_prints_each_log_record_once():
    """Django's default text handler for "django" no longer repeats what the root's JSON
    handler prints (runserver's settings, DEBUG on)."""
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('django.request').warning('seen once')"
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local"},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )

    lines = [line for line in done.stderr.splitlines() if "seen once" in line]
    assert len(lines) == 1, done.stderr
    assert json.loads(lines[0])["logger"] == "django.request"
