import pytest
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


__all__ = ["CALLERS", "ROLES"]  # for permission matrices; they live in tests/matrix.py
