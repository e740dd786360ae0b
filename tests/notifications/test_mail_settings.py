"""Mail with zero configuration prints to the console; EMAIL_HOST sends through SMTP; the
public address in mail defaults sensibly. Settings modules are imported fresh, in a
subprocess."""

import json

import pytest

from tests.test_settings import SETTINGS_VARIABLES, _run, production_env, production_keys

__all__ = ["production_env", "production_keys"]  # the fixtures, shared

MAIL_VARIABLES = ["EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "PUBLIC_URL", "NOTIFY_ISSUE_URL"]


def settings_of(env: dict) -> dict:
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.PUBLIC_URL, "
        "s.NOTIFY_ISSUE_URL]))"
    )
    done = _run(env, "-c", code)
    assert done.returncode == 0, done.stderr
    return dict(zip(MAIL_VARIABLES, json.loads(done.stdout.splitlines()[-1]), strict=True))


@pytest.fixture
def local_env(tmp_path):
    import os

    hidden = set(SETTINGS_VARIABLES) | set(MAIL_VARIABLES)
    env = {name: value for name, value in os.environ.items() if name not in hidden}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    return env


def test_zero_configuration_prints_mail_on_the_console(local_env):
    found = settings_of(local_env)
    assert found["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert found["PUBLIC_URL"] == "http://127.0.0.1:8000"
    assert found["NOTIFY_ISSUE_URL"] == "{base}/api/v1/issues/{key}"


def test_an_smtp_host_sends_through_it(local_env):
    found = settings_of({**local_env, "EMAIL_HOST": "smtp.example.com", "EMAIL_PORT": "587"})
    assert found["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (found["EMAIL_HOST"], found["EMAIL_PORT"]) == ("smtp.example.com", 587)


def test_production_links_to_its_first_host_unless_told(production_env):
    env = {k: v for k, v in production_env.items() if k not in MAIL_VARIABLES}
    assert settings_of(env)["PUBLIC_URL"] == "https://tracker.example.com"
    told = settings_of({**env, "PUBLIC_URL": "https://issues.example.org/"})
    assert told["PUBLIC_URL"] == "https://issues.example.org"
