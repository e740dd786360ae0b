import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from api.middleware import RequestIdMiddleware
from config.logging import request_id

pytestmark = pytest.mark.django_db


def test_request_id_from_the_client_is_echoed(client):
    response = client.get("/health", HTTP_X_REQUEST_ID="edge-7f3a")

    assert response["X-Request-ID"] == "edge-7f3a"


@pytest.mark.parametrize("given", ["", "bad id", "x" * 129, "a\nforged-line", "<script>"])
def test_request_id_is_generated_when_missing_or_unsafe(client, given):
    response = client.get("/health", HTTP_X_REQUEST_ID=given)

    generated = response["X-Request-ID"]
    assert generated != given
    assert len(generated) == 32
    int(generated, 16)


def test_request_id_is_set_for_the_request_and_cleared_after():
    seen = {}

    def view(request):
        seen["request"] = request.request_id
        seen["context"] = request_id.get()
        return HttpResponse()

    response = RequestIdMiddleware(view)(RequestFactory().get("/", HTTP_X_REQUEST_ID="abc"))

    assert seen == {"request": "abc", "context": "abc"}
    assert response["X-Request-ID"] == "abc"
    assert request_id.get() is None


def test_api_errors_carry_the_request_id_too(client):
    response = client.get("/api/v1/me", HTTP_X_REQUEST_ID="err-1")

    assert response.status_code == 401
    assert response["X-Request-ID"] == "err-1"


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics"])
def test_probes_and_metrics_answer_when_addressed_by_pod_ip(client, path, settings):
    """The kubelet and Prometheus send Host: <pod IP>:8000, which is not an allowed host."""
    settings.SECURE_SSL_REDIRECT = True
    settings.METRICS_TOKEN = "scrape-token"

    response = client.get(
        path, HTTP_HOST="10.42.0.17:8000", HTTP_AUTHORIZATION="Bearer scrape-token"
    )

    assert response.status_code == 200


def test_other_paths_still_refuse_unknown_hosts(client):
    response = client.get("/api/v1/", HTTP_HOST="10.42.0.17:8000")

    assert response.status_code == 400


def test_metrics_are_in_prometheus_text_format(client, settings):
    settings.METRICS_TOKEN = "scrape-token"
    client.get("/health")

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token")

    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert "django_http_requests_before_middlewares_total" in body
    assert "django_db_execute_total" in body or "django_db_new_connections_total" in body
