"""/metrics answers only a scraper holding METRICS_TOKEN; everyone else gets a plain 404."""

import pytest

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-metrics-token-for-tests"
METRIC = "django_http_requests_before_middlewares_total"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def assert_refused(response, client):
    """The 404 of any unknown path, and no metric in it."""
    unknown = client.get("/no-such-path", secure=True).json()
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {**unknown, "instance": "/metrics"}
    assert "django_" not in response.content.decode()


def test_the_token_gets_the_metrics(client, token):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert METRIC in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_the_scheme_is_case_insensitive(client, token):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"bearer {token}")

    assert response.status_code == 200
    assert METRIC in response.content.decode()


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong-token",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Bearer  {TOKEN}",
        TOKEN,
        f"Basic {TOKEN}",
        f"Token {TOKEN}",
        "Bearer tökén",
    ],
)
def test_without_the_right_token_metrics_are_a_404(client, token, authorization):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}

    assert_refused(client.get("/metrics", **headers), client)


def test_metrics_are_off_while_the_token_is_blank(client, settings):
    """Blank is the default: not even an empty bearer token matches it."""
    settings.METRICS_TOKEN = ""

    for authorization in ("", "Bearer", "Bearer "):
        assert_refused(client.get("/metrics", HTTP_AUTHORIZATION=authorization), client)


def test_a_loopback_peer_or_forged_forwarding_headers_do_not_help(client, token):
    """Only the token counts: not the peer address, nor what a client says it is."""
    response = client.get(
        "/metrics",
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="127.0.0.1",
        HTTP_X_REAL_IP="127.0.0.1",
        HTTP_FORWARDED="for=127.0.0.1",
    )

    assert_refused(response, client)


def test_a_pod_ip_host_still_needs_the_token(client, token, settings):
    """Served ahead of host validation (Prometheus scrapes by pod IP), so it must check."""
    settings.SECURE_SSL_REDIRECT = True

    refused = client.get("/metrics", HTTP_HOST="10.42.0.17:8000")
    served = client.get(
        "/metrics", HTTP_HOST="10.42.0.17:8000", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert_refused(refused, client)
    assert served.status_code == 200
    assert METRIC in served.content.decode()
