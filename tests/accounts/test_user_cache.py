"""With Redis, authentication reads the token's user from a cached copy fetched in the
blocklist's round trip: no SQL of its own, and a change made through the model is seen at
once (accounts/blocklist.py)."""

import pytest
from django.core.cache import cache
from django.db import transaction

from accounts.blocklist import USER_KEY_PREFIX
from accounts.models import User
from projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db

API_ROOT = "/api/v1/"
ME = "/api/v1/me"


@pytest.fixture(autouse=True)
def _as_with_redis(settings):
    settings.TOKEN_BLOCKLIST_USE_CACHE = True
    settings.AUTH_USER_CACHE_SECONDS = 60


def test_an_authenticated_request_costs_no_sql_once_the_user_is_cached(
    client_for, user, django_assert_num_queries
):
    client = client_for(user)
    with django_assert_num_queries(2):  # the blocklist (loaded once a minute) and the user
        assert client.get(API_ROOT).status_code == 200

    with django_assert_num_queries(0):
        response = client.get(ME)

    assert response.status_code == 200
    assert response.json()["username"] == user.username


def test_without_the_copy_every_request_reads_the_user(
    client_for, user, settings, django_assert_num_queries
):
    settings.AUTH_USER_CACHE_SECONDS = 0
    client = client_for(user)
    client.get(API_ROOT)

    with django_assert_num_queries(1):
        assert client.get(API_ROOT).status_code == 200
    assert cache.get(USER_KEY_PREFIX + str(user.pk)) is None


def test_a_change_through_the_api_shows_at_once(client_for, user):
    client = client_for(user)
    assert client.get(ME).json()["display_name"] == user.display_name

    assert client.patch(ME, {"display_name": "Grace H."}, format="json").status_code == 200

    assert client.get(ME).json()["display_name"] == "Grace H."


def test_a_role_change_through_the_model_applies_to_the_next_request(client_for, user):
    private = ProjectFactory()  # user is no member
    client = client_for(user)
    assert client.get(f"/api/v1/projects/{private.key}").status_code == 404  # user cached
    user.role = User.SiteRole.ADMIN  # site admins see every project
    user.save()

    response = client.get(f"/api/v1/projects/{private.key}")

    assert response.status_code == 200
    assert response.json()["key"] == private.key


def test_a_deleted_user_is_refused_although_a_copy_was_cached(client_for, user):
    client = client_for(user)
    assert client.get(ME).status_code == 200
    user.delete()

    response = client.get(ME)

    assert response.status_code == 401
    assert response.json()["code"] == "user_not_found"


def _rename(user):
    user.display_name = "Changed"
    user.save()


@pytest.mark.parametrize("change", [_rename, User.delete])
def test_the_copy_is_dropped_again_after_the_commit(
    user, django_capture_on_commit_callbacks, change
):
    """A request running beside a change may cache the row as it was before the commit;
    the second drop, after the commit, removes that copy."""
    key = USER_KEY_PREFIX + str(user.pk)
    stale = User.objects.get(pk=user.pk)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        change(user)
        cache.set(key, stale, 60)  # what a concurrent request could have written meanwhile
    assert cache.get(key) is None
