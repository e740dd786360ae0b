import pytest
from django.conf import settings
from django.test import RequestFactory, override_settings
from rest_framework.request import Request

from accounts.models import TokenFamily, User
from accounts.services import token_pair_for_user
from api.clients import client_ip
from api.throttling import UserRateThrottle, _redis

pytestmark = pytest.mark.django_db

LIMITED = override_settings(
    REST_FRAMEWORK={
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": "3/min",
            "register": "3/min",
            "refresh": "3/min",
        },
    }
)


def _assert_throttled(response):
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 429
    assert body["code"] == "throttled"
    assert body["title"] == "Too Many Requests"


# With no proxy trusted (the default), a client sending a new X-Forwarded-For with each
# request is still one client: its peer address.
CLIENTS = pytest.mark.parametrize(
    "headers",
    [lambda n: {}, lambda n: {"HTTP_X_FORWARDED_FOR": f"198.51.100.{n}"}],
    ids=["plain", "forged-x-forwarded-for"],
)


@LIMITED
@CLIENTS
def test_the_fourth_login_in_a_minute_is_throttled(api_client, user, password, headers):
    attempts = [
        api_client.post(
            "/api/v1/auth/login",
            {"username": user.username, "password": "wrong"},
            format="json",
            **headers(n),
        )
        for n in range(3)
    ]

    response = api_client.post(
        "/api/v1/auth/login",
        {"username": user.username, "password": password},
        format="json",
        **headers(3),
    )

    assert [a.status_code for a in attempts] == [401, 401, 401]
    _assert_throttled(response)
    assert "access_token" not in response.json()
    assert not TokenFamily.objects.exists()


@LIMITED
def test_login_throttle_counts_per_client_address(api_client, user, password):
    data = {"username": user.username, "password": password}
    for _ in range(3):
        api_client.post("/api/v1/auth/login", data, format="json")
    assert api_client.post("/api/v1/auth/login", data, format="json").status_code == 429

    response = api_client.post("/api/v1/auth/login", data, format="json", REMOTE_ADDR="10.0.0.2")

    assert response.status_code == 200
    assert TokenFamily.objects.filter(user=user).count() == 4


@LIMITED
@CLIENTS
def test_the_fourth_registration_in_a_minute_is_throttled(api_client, password, headers):
    def register(n):
        return api_client.post(
            "/api/v1/auth/register",
            {"username": f"new{n}", "email": f"new{n}@example.com", "password": password},
            format="json",
            **headers(n),
        )

    statuses = [register(n).status_code for n in range(3)]

    response = register(3)

    assert statuses == [201, 201, 201]
    _assert_throttled(response)
    assert sorted(User.objects.values_list("username", flat=True)) == ["new0", "new1", "new2"]


@LIMITED
@CLIENTS
def test_the_fourth_refresh_in_a_minute_is_throttled(api_client, user, headers):
    refresh = str(token_pair_for_user(user=user).refresh)
    for n in range(3):
        response = api_client.post(
            "/api/v1/auth/refresh", {"refresh_token": refresh}, format="json", **headers(n)
        )
        assert response.status_code == 200
        refresh = response.json()["refresh_token"]
    family = TokenFamily.objects.get(user=user)

    response = api_client.post(
        "/api/v1/auth/refresh", {"refresh_token": refresh}, format="json", **headers(3)
    )

    _assert_throttled(response)
    after = TokenFamily.objects.get(user=user)
    assert (after.current_jti, after.revoked_at) == (family.current_jti, None)


@LIMITED
@override_settings(NUM_PROXIES=1)
def test_behind_one_trusted_proxy_the_last_forwarded_address_is_the_client(
    api_client, user, password
):
    def login(forwarded_for, guess="wrong"):
        return api_client.post(
            "/api/v1/auth/login",
            {"username": user.username, "password": guess},
            format="json",
            HTTP_X_FORWARDED_FOR=forwarded_for,
            REMOTE_ADDR="10.0.0.1",  # the ingress, the peer of every request
        )

    # The client forges a new first entry each time; the proxy appends its real address.
    statuses = [login(f"198.51.100.{n}, 203.0.113.7").status_code for n in range(3)]
    forged = login("198.51.100.9, 203.0.113.7", password)
    other_client = login("203.0.113.8", password)

    assert statuses == [401, 401, 401]
    _assert_throttled(forged)
    assert other_client.status_code == 200
    assert other_client.json()["token_type"] == "Bearer"
    assert TokenFamily.objects.filter(user=user).count() == 1


PEER = "10.0.0.1"


@pytest.mark.parametrize(
    ("num_proxies", "forwarded_for", "client"),
    [
        (0, None, PEER),
        (0, "203.0.113.7", PEER),
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "1.2.3.4,203.0.113.7", "203.0.113.7"),
        (1, None, PEER),  # reached without passing the proxy
        (2, "1.2.3.4, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (2, "203.0.113.7", "203.0.113.7"),
    ],
)
def test_the_client_address_trusts_only_the_configured_proxies(
    settings, num_proxies, forwarded_for, client
):
    settings.NUM_PROXIES = num_proxies
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}

    assert client_ip(RequestFactory().get("/", REMOTE_ADDR=PEER, **headers)) == client


@pytest.mark.skipif(_redis() is None, reason="the throttles' Redis path (REDIS_URL)")
def test_with_redis_the_window_slides_and_refusals_are_not_counted(user):
    """The sliding log Redis keeps (api/throttling.py) answers as DRF's does: at most
    `limit` requests in any window, a refused one not recorded, each freed as its time
    leaves the window."""
    from django.core.cache import cache

    now = [1000.0]

    class Throttle(UserRateThrottle):
        rate = "2/min"
        timer = staticmethod(lambda: now[0])

    request = Request(RequestFactory().get("/api/v1/issues"))
    request.user, request.auth = user, None

    def ask(at: float) -> bool:
        now[0] = at
        throttle = Throttle()
        return throttle.allow_request(request, None), throttle

    assert ask(1000)[0] and ask(1030)[0]
    refused, throttle = ask(1050)
    assert not refused
    assert throttle.wait() == pytest.approx(10)  # the first leaves the window at 1060
    key = cache.make_key(Throttle().get_cache_key(request, None) + ":log")
    assert [float(t) for t in _redis().lrange(key, 0, -1)] == [1030.0, 1000.0]
    assert ask(1061)[0]  # the first has left; the refusal took no place
    assert not ask(1089)[0]
    assert ask(1091)[0]
    assert [float(t) for t in _redis().lrange(key, 0, -1)] == [1091.0, 1061.0]
