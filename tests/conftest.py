import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from accounts.services import token_pair_for_user
from projects.models import Role
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, ProjectFactory, UserFactory


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


# Every way a caller can stand towards a project, for permission matrices.
ROLES = ["viewer", "reporter", "developer", "maintainer", "owner"]
CALLERS = [*ROLES, "outsider", "anonymous", "site_admin"]


@pytest.fixture
def project(db):
    """A private project whose creator is its owner."""
    project = ProjectFactory(visibility="private")
    MembershipFactory(project=project, user=project.created_by, role=Role.OWNER)
    return project


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
    """The user for a caller kind of CALLERS in `project` (None for anonymous)."""

    def make(project, kind):
        if kind == "anonymous":
            return None
        if kind == "outsider":
            return UserFactory()
        if kind == "site_admin":
            return site_admin
        return member_of(project, kind)

    return make
