"""Revocation and expiry reach every worker at once, with Redis between them: a second
Django process, its cache warm with the token, refuses it on its very next request."""

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.services import pat_create, pat_revoke
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

# A worker: reads a token per line, answers the status of GET /api/v1/me with it.
WORKER = """
import django, sys
django.setup()
from rest_framework.test import APIClient
for line in sys.stdin:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + line.strip())
    print(client.get("/api/v1/me").status_code, flush=True)
"""


@pytest.fixture
def worker():
    db = settings.DATABASES["default"]
    url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/"
        f"{connection.settings_dict['NAME']}"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": url,
        "REDIS_URL": settings.REDIS_URL,
    }
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", WORKER],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=settings.BASE_DIR,
    )

    def ask(secret: str) -> int:
        process.stdin.write(secret + "\n")
        process.stdin.flush()
        return int(process.stdout.readline())

    assert ask("trk_" + "0" * 38) == 401  # started, so its start-up time is not in a test
    yield ask
    process.stdin.close()
    process.wait(timeout=30)


def test_revocation_reaches_another_process_at_once(worker):
    token, secret = pat_create(user=UserFactory(), name="ci", scopes=["read"])
    assert worker(secret) == 200
    assert worker(secret) == 200  # now from its cache

    pat_revoke(token=token)

    assert worker(secret) == 401


def test_expiry_reaches_another_process_at_once(worker):
    expires_at = timezone.now() + timedelta(seconds=5)  # time enough on a busy machine
    _, secret = pat_create(user=UserFactory(), name="ci", scopes=["read"], expires_at=expires_at)
    assert worker(secret) == 200

    time.sleep(max(0.0, (expires_at - timezone.now()).total_seconds()) + 0.05)

    assert worker(secret) == 401


def test_a_deactivated_user_is_refused_by_another_process(worker):
    user = UserFactory()
    _, secret = pat_create(user=user, name="ci", scopes=["read"])
    assert worker(secret) == 200

    user.is_active = False
    user.save()

    assert worker(secret) == 401
