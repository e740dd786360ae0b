"""Production settings refuse to start without their secrets, and pass Django's deploy checks.

These run Django in a subprocess, so a settings module is imported fresh each time.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import environ
import pytest

from config.keys import PEM_BLOCK, SigningKeys

BASE_DIR = Path(__file__).resolve().parent.parent

# Variables the settings read that must not leak in from the developer's shell.
SETTINGS_VARIABLES = [
    "DJANGO_SETTINGS_MODULE",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "PRIVATE_KEY",
    "PRIVATE_KEY_PATH",
    "PUBLIC_KEY",
    "PUBLIC_KEY_PATH",
    "PREVIOUS_PUBLIC_KEYS",
    "PREVIOUS_PUBLIC_KEYS_PATH",
]


@pytest.fixture
def production_keys(tmp_path) -> SigningKeys:
    return SigningKeys.generate_into(tmp_path / "keys")


@pytest.fixture
def production_env(tmp_path, production_keys):
    """A complete production environment; tests take variables away from it."""
    env = {name: value for name, value in os.environ.items() if name not in SETTINGS_VARIABLES}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50),
        PRIVATE_KEY_PATH=str(tmp_path / "keys" / "private.pem"),
        ALLOWED_HOSTS="tracker.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        CELERY_BROKER_URL="redis://127.0.0.1:6379/9",
    )
    return env


def _run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _setup(env: dict) -> subprocess.CompletedProcess:
    return _run(env, "-c", "import django; django.setup()")


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        (["SECRET_KEY"], "SECRET_KEY"),
        (["PRIVATE_KEY_PATH"], "PRIVATE_KEY"),
        (["ALLOWED_HOSTS"], "ALLOWED_HOSTS"),
        (["CELERY_BROKER_URL"], "CELERY_BROKER_URL"),
    ],
)
def test_production_refuses_to_start_without_a_required_variable(production_env, missing, named):
    for name in missing:
        production_env.pop(name)

    result = _setup(production_env)

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[-1]
    assert "Traceback" not in result.stderr


def test_production_treats_an_empty_variable_as_missing(production_env):
    production_env["SECRET_KEY"] = ""

    result = _setup(production_env)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "ImproperlyConfigured: set the SECRET_KEY environment variable."
    ]


def test_production_starts_with_a_key_given_inline_with_escaped_newlines(
    production_env, production_keys
):
    production_env.pop("PRIVATE_KEY_PATH")
    production_env["PRIVATE_KEY"] = production_keys.private_pem.replace("\n", "\\n")

    result = _run(
        production_env,
        "-c",
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SIGNING_KEYS.current_kid)",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == production_keys.current_kid


def test_production_passes_the_deploy_checks(production_env):
    result = _run(production_env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stderr


# Loading keys from the environment


def _env(monkeypatch, **values) -> environ.Env:
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return environ.Env()


def test_keys_from_env_derive_the_public_key_and_read_previous_keys(monkeypatch, tmp_path):
    current = SigningKeys.generate_into(tmp_path / "current")
    old = [SigningKeys.generate_into(tmp_path / f"old{n}") for n in range(2)]
    previous = tmp_path / "previous.pem"
    previous.write_text("# retired 2026-01\n" + "\n".join(k.public_pem for k in old))

    keys = SigningKeys.from_env(
        _env(
            monkeypatch,
            PRIVATE_KEY=current.private_pem.replace("\n", "\\n"),
            PREVIOUS_PUBLIC_KEYS_PATH=str(previous),
        )
    )

    assert keys.configured
    assert keys.private_pem == current.private_pem
    assert keys.public_pem == current.public_pem
    assert keys.previous_public_pems == tuple(k.public_pem.strip() for k in old)
    assert list(keys.verifying_keys) == [current.current_kid, *(k.current_kid for k in old)]
    assert [jwk["kid"] for jwk in keys.jwks["keys"]] == list(keys.verifying_keys)


def test_keys_from_an_empty_env_are_not_configured(monkeypatch):
    keys = SigningKeys.from_env(_env(monkeypatch))

    assert not keys.configured
    assert keys.previous_public_pems == ()


def test_a_generated_development_key_is_kept_private_and_reused(tmp_path):
    first = SigningKeys.generate_into(tmp_path / "keys")
    second = SigningKeys.generate_into(tmp_path / "keys")

    assert first.private_pem == second.private_pem
    assert (tmp_path / "keys" / "private.pem").stat().st_mode & 0o077 == 0
    assert (tmp_path / "keys").stat().st_mode & 0o077 == 0
    assert PEM_BLOCK.fullmatch(first.public_pem.strip())
