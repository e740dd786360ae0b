"""Webhook URLs may not reach the service's own network, when saved or when sent."""

import socket

import pytest

from webhooks import network, services
from webhooks.models import Delivery, Webhook

from .test_delivery import emit

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.215.14"


def resolving(monkeypatch, answers):
    """Make `getaddrinfo` answer `answers[host]` (a list of addresses)."""

    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:  # an address already (urllib3 connecting)
            return real(host, port, *args, **kwargs)
        family = socket.AF_INET6 if ":" in answers[host][0] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]

    monkeypatch.setattr(network.socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104
        "224.0.0.1",
        "::1",
        "fd00:ec2::254",
        "fe80::1",
        "::ffff:127.0.0.1",
    ],
)
def test_urls_resolving_inside_are_refused_on_save(monkeypatch, project, client_for, address):
    # One bad address among good ones is enough.
    resolving(monkeypatch, {"hooks.example.com": [PUBLIC, address]})
    response = client_for(project.created_by).post(
        f"/api/v1/projects/{project.key}/webhooks",
        {"url": "https://hooks.example.com/in"},
        format="json",
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == "url"
    assert address in error["message"]
    assert not Webhook.objects.exists()


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/", "file:///etc/passwd"])
def test_only_http_and_https_are_allowed(project, client_for, url):
    response = client_for(project.created_by).post(
        f"/api/v1/projects/{project.key}/webhooks", {"url": url}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "url"
    assert not Webhook.objects.exists()


def test_a_public_address_is_accepted(monkeypatch, project):
    resolving(monkeypatch, {"hooks.example.com": [PUBLIC]})
    network.check_url("https://hooks.example.com/in")


def test_private_networks_when_the_operator_allows_them_but_never_metadata(settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    resolving(monkeypatch, {"intranet": ["10.0.0.7"], "meta": ["169.254.169.254"]})
    network.check_url("http://intranet/hook")
    with pytest.raises(network.UnsafeURL, match="metadata"):
        network.check_url("http://meta/")


def test_named_hosts_are_allowed(settings, monkeypatch):
    settings.WEBHOOK_ALLOWED_HOSTS = ["receiver.internal"]
    resolving(monkeypatch, {"receiver.internal": ["10.0.0.7"], "other.internal": ["10.0.0.8"]})
    network.check_url("http://receiver.internal/hook")
    with pytest.raises(network.UnsafeURL):
        network.check_url("http://other.internal/hook")


def test_a_dns_change_after_saving_is_refused_when_sending(monkeypatch, project, receiver):
    resolving(monkeypatch, {"hooks.example.com": [PUBLIC]})
    port = receiver.server.server_port
    webhook = services.webhook_create(
        project=project, creator=project.created_by, url=f"http://hooks.example.com:{port}/"
    )
    # Now the name points at the receiver on loopback (not allowed by its name).
    resolving(monkeypatch, {"hooks.example.com": ["127.0.0.1"]})
    (delivery_id,) = services.event_relay(event_id=emit(project).pk)
    delivery = services.delivery_attempt(delivery_id=delivery_id)
    assert receiver.requests == []
    assert delivery.status == Delivery.Status.FAILED  # refused, so never retried
    assert "127.0.0.1" in delivery.error
    assert delivery.webhook == webhook


def test_the_request_goes_to_the_checked_address(monkeypatch, settings, project, receiver):
    """Resolved once: the connection uses the address checked, with the name as Host."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.test"]
    resolving(monkeypatch, {"hooks.test": ["127.0.0.1"]})
    port = receiver.server.server_port
    services.webhook_create(
        project=project, creator=project.created_by, url=f"http://hooks.test:{port}/x?a=1"
    )
    (delivery_id,) = services.event_relay(event_id=emit(project).pk)
    assert services.delivery_attempt(delivery_id=delivery_id).status == "succeeded"
    assert receiver.requests[0]["headers"]["Host"] == f"hooks.test:{port}"
