"""Limits on failed logins (accounts.lockout): one count per client address and one per
account, shared by the API login and the browsable API's and the admin's login forms."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts import lockout
from accounts.models import TokenFamily
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/auth/login"
SESSION = "/api/v1/session/login/"
ADMIN = "/admin/login/"
NOW = 1_700_000_000  # 800 s into a 900 s window: 100 s left
LOCKED = "Too many failed attempts; try again in 100 seconds."


@pytest.fixture(autouse=True)
def limits(settings, monkeypatch):
    settings.LOGIN_FAILURE_WINDOW = 900
    settings.LOGIN_FAILURES_PER_ADDRESS = 5
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    monkeypatch.setattr(lockout, "timer", lambda: NOW)


@pytest.fixture
def alice(db):
    """A staff user, so that the admin's login form would let her in."""
    return UserFactory(username="Alice", email="alice@example.com", is_staff=True)


def login(url, username, password, address="192.0.2.1", **headers):
    """POST a login to the API or one of the login forms, from `address`."""
    data = {"username": username, "password": password}
    if url == API:
        return APIClient().post(API, data, format="json", REMOTE_ADDR=address, **headers)
    client = Client()
    response = client.post(url, data, REMOTE_ADDR=address, **headers)
    response.signed_in_as = client.session.get("_auth_user_id")
    return response


def assert_api_locked_out(response):
    assert response.status_code == 429
    assert response["Retry-After"] == "100"
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": LOCKED,
        "code": "too_many_failed_logins",
        "instance": API,
    }


def assert_form_locked_out(response):
    assert response.status_code == 200  # the form again, as for any refused login
    assert response.context["form"].non_field_errors() == [LOCKED]
    assert LOCKED in response.content.decode()
    assert response.signed_in_as is None


def assert_locked_out(response):
    if response.request["PATH_INFO"] == API:
        assert_api_locked_out(response)
    else:
        assert_form_locked_out(response)


def assert_not_signed_in(user):
    assert not TokenFamily.objects.filter(user=user).exists()
    user.refresh_from_db()
    assert user.last_login is None


def test_the_api_refuses_the_right_password_once_the_account_is_over_its_limit(alice, password):
    # From three addresses, so only the account's count can reach its limit.
    failures = [login(API, "alice", "wrong", f"192.0.2.{n}") for n in range(3)]

    response = login(API, "alice", password, "192.0.2.9")

    assert [f.status_code for f in failures] == [401, 401, 401]
    assert_api_locked_out(response)
    assert_not_signed_in(alice)


def test_the_api_refuses_an_address_over_its_limit_across_accounts(alice, password):
    names = ["alice", "bob", "carol", "dave", "erin"]  # one failure each: no account locked
    # A new forged X-Forwarded-For each time changes nothing: no proxy is trusted.
    failures = [
        login(API, name, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
        for n, name in enumerate(names)
    ]

    refused = login(API, "alice", password)
    elsewhere = login(API, "alice", password, "198.51.100.1")

    assert [f.status_code for f in failures] == [401] * 5
    assert_api_locked_out(refused)
    assert elsewhere.status_code == 200
    assert TokenFamily.objects.filter(user=alice).count() == 1


@pytest.mark.parametrize("surface", [SESSION, ADMIN])
def test_a_login_form_is_locked_per_account_in_any_case(surface, alice, password):
    failures = [
        login(surface, name, "wrong", f"192.0.2.{n}")
        for n, name in enumerate(["alice", "ALICE", "Alice"])
    ]

    response = login(surface, "aLiCe", password, "192.0.2.9")

    assert [f.status_code for f in failures] == [200] * 3
    assert all(f.signed_in_as is None for f in failures)
    assert LOCKED not in failures[-1].content.decode()
    assert_form_locked_out(response)
    assert_not_signed_in(alice)


@pytest.mark.parametrize("surface", [SESSION, ADMIN])
def test_a_login_form_is_locked_per_address(surface, alice, password):
    for name in ["bob", "carol", "dave", "erin", "frank"]:
        login(surface, name, "wrong")

    response = login(surface, "alice", password)
    elsewhere = login(surface, "alice", password, "198.51.100.1")

    assert_form_locked_out(response)
    assert elsewhere.status_code == 302
    assert elsewhere.signed_in_as == str(alice.pk)


@pytest.mark.parametrize("failing_on", [API, SESSION, ADMIN])
def test_failures_on_one_login_lock_every_login(failing_on, alice, password):
    for n in range(3):
        login(failing_on, "alice", "wrong", f"192.0.2.{n}")

    for surface in (API, SESSION, ADMIN):
        assert_locked_out(login(surface, "alice", password, "198.51.100.1"))
    assert_not_signed_in(alice)


def test_failures_spread_over_the_logins_add_up(alice, password):
    for surface in (API, SESSION, ADMIN):
        login(surface, "alice", "wrong", "198.51.100.1")

    assert_api_locked_out(login(API, "alice", password, "198.51.100.2"))
    assert_not_signed_in(alice)


def test_the_lockout_answer_does_not_tell_whether_the_account_exists(
    alice, password, django_assert_num_queries
):
    for name, address in [("alice", "192.0.2.1"), ("nobody", "192.0.2.2")]:
        for _ in range(3):
            login(API, name, "wrong", address)

    # Neither answer looks the account up, so neither takes longer.
    with django_assert_num_queries(0):
        answers = [
            login(API, "alice", password, "192.0.2.1"),
            login(API, "alice", "wrong", "192.0.2.1"),
            login(API, "nobody", password, "192.0.2.2"),
        ]
    forms = [login(ADMIN, name, password, "192.0.2.3") for name in ("alice", "nobody")]

    for answer in answers:
        assert_api_locked_out(answer)
    # Every header alike but the request's own id.
    headers = [{k: v for k, v in a.headers.items() if k != "X-Request-ID"} for a in answers]
    assert headers[0] == headers[1] == headers[2]
    assert answers[0].content == answers[1].content == answers[2].content
    for form in forms:
        assert_form_locked_out(form)
    assert_not_signed_in(alice)


def test_a_lockout_ends_with_its_window(alice, password, monkeypatch):
    for _ in range(3):
        login(API, "alice", "wrong")
    assert_api_locked_out(login(API, "alice", password))

    monkeypatch.setattr(lockout, "timer", lambda: NOW + 100)
    response = login(API, "alice", password)

    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert TokenFamily.objects.filter(user=alice).count() == 1


def test_a_successful_login_does_not_reset_the_address_count(alice, password):
    mallory = UserFactory(username="mallory")
    for name in ["alice", "bob", "carol", "dave"]:
        assert login(API, name, "wrong").status_code == 401
    assert login(API, "mallory", password).status_code == 200
    assert login(API, "alice", "wrong").status_code == 401  # the fifth failure

    assert_api_locked_out(login(API, "mallory", password))
    assert TokenFamily.objects.filter(user=mallory).count() == 1
    assert_not_signed_in(alice)


class CacheDown:
    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("cache unreachable")

        return fail


def test_without_the_cache_logins_are_not_limited(alice, password, monkeypatch):
    monkeypatch.setattr(lockout, "cache", CacheDown())

    failures = [login(API, "alice", "wrong").status_code for _ in range(6)]
    response = login(API, "alice", password)

    assert failures == [401] * 6
    assert response.status_code == 200
    assert TokenFamily.objects.filter(user=alice).count() == 1
