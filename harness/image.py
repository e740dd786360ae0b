"""What the image runs, read from the files that define it (the Dockerfile, the migration
Job), and the environment a pod gets: so a tool runs exactly what a container runs."""

import json
import os
import re
import secrets
from pathlib import Path

import yaml

from . import ROOT, VENV_BIN

HOST = "tracker.test"  # the public host name, as the ingress forwards it
HTTPS = {"Host": HOST, "X-Forwarded-Proto": "https"}  # what the ingress adds


def dockerfile(keyword: str) -> list[str]:
    """The Dockerfile's `keyword` instructions, continuation lines joined, keyword removed."""
    text = re.sub(r"^\s*#.*\n", "", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE)
    instructions = text.replace("\\\n", " ").splitlines()
    return [line.removeprefix(f"{keyword} ") for line in instructions if line.startswith(keyword)]


def image_command() -> list[str]:
    """The image's CMD (exec form): this runs exactly what the container runs."""
    return json.loads(dockerfile("CMD")[-1])


def healthcheck_command() -> list[str]:
    return json.loads(dockerfile("HEALTHCHECK")[-1].split(" CMD ", 1)[1])


def collectstatic_command() -> str:
    """The RUN instruction that collects static files into the image."""
    (command,) = [run for run in dockerfile("RUN") if "collectstatic" in run]
    return command


def migrate_job_command() -> list[str]:
    job = yaml.safe_load((ROOT / "k8s" / "migrate-job.yaml").read_text())
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return container["command"]


def write_private_key(folder: Path) -> Path:
    """A new RS256 signing key in `folder`, readable by its owner only."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = folder / "jwt-private.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return path


def base_env(folder: Path) -> dict[str, str]:
    """All a process gets from this shell: the virtualenv's PATH and the locale."""
    return {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "HOME": str(folder),
    }


def production_env(
    folder: Path, *, database_url: str, redis_url: str, metrics_token: str | None = None
) -> dict[str, str]:
    """What a pod gets, with a new signing key and SECRET_KEY, static files in `folder`."""
    return {
        **base_env(folder),
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PRIVATE_KEY_PATH": str(write_private_key(folder)),
        "ALLOWED_HOSTS": HOST,
        "CSRF_TRUSTED_ORIGINS": f"https://{HOST}",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "STATIC_ROOT": str(folder / "static"),
        "SECURE_HSTS_SECONDS": "31536000",
        "NUM_PROXIES": "1",
        "METRICS_TOKEN": metrics_token or secrets.token_urlsafe(32),
        "LOG_LEVEL": "INFO",
    }
