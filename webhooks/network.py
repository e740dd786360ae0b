"""Reaching webhook receivers without reaching the service's own network (SSRF).

A URL is checked when saved and again on every send: each address its host resolves to
must be public, and the request goes to the address that was checked (the host name only
in `Host` and TLS), so a DNS answer that changes in between cannot point it inside.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

# Cloud instance metadata, refused even when private networks are allowed.
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
}
# Stored of a receiver's answer: enough to debug, never a large body held in memory.
RESPONSE_MAX_BYTES = 4096


class UnsafeURL(Exception):
    """The URL may not be called: wrong scheme, unresolvable, or an address inside."""


class Unresolvable(UnsafeURL):
    """The host has no address now (perhaps for a while only)."""


def _forbidden(address, *, host: str) -> str | None:
    """Why `address` may not be called, or None."""
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    if host in settings.WEBHOOK_ALLOWED_HOSTS:
        return None
    if address in METADATA_ADDRESSES:
        return "is a cloud metadata address"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "is a multicast or reserved address"
    if address.is_global:
        return None
    if settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS and (
        address.is_private or address.is_loopback or address.is_link_local
    ):
        return None
    return "is a loopback, private or link-local address"


def resolve(url: str) -> tuple[str, int, list[str]]:
    """The URL's host, port and the addresses it resolves to, all of them allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("Only http and https URLs are allowed.")
    host = parts.hostname
    if not host:
        raise UnsafeURL("The URL has no host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (ValueError, OSError, UnicodeError) as error:
        raise Unresolvable(f"The host {host} cannot be resolved: {error}.") from error
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for text in addresses:
        reason = _forbidden(ipaddress.ip_address(text.split("%")[0]), host=host)
        if reason:
            raise UnsafeURL(f"The host {host} resolves to {text}, which {reason}.")
    return host, port, addresses


def check_url(url: str) -> None:
    """Raise UnsafeURL unless `url` may receive webhooks now."""
    resolve(url)


@dataclass
class Answer:
    status: int | None = None
    body: str = ""
    headers: dict | None = None
    duration_ms: int = 0
    error: str = ""
    # Refused before sending (the address is not allowed): retrying will not help.
    refused: bool = False


def post(url: str, *, body: bytes, headers: dict) -> Answer:
    """POST `body` to `url` at a checked address: no redirects, bounded time and answer."""
    started = time.monotonic()
    answer = Answer()
    try:
        host, port, addresses = resolve(url)
        parts = urlsplit(url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        options = {
            "timeout": urllib3.Timeout(
                connect=settings.WEBHOOK_CONNECT_TIMEOUT, read=settings.WEBHOOK_READ_TIMEOUT
            ),
            "retries": False,
            "maxsize": 1,
        }
        if parts.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                addresses[0], port, server_hostname=host, assert_hostname=host, **options
            )
        else:
            pool = urllib3.HTTPConnectionPool(addresses[0], port, **options)
        with pool:
            response = pool.urlopen(
                "POST",
                path,
                body=body,
                headers={**headers, "Host": parts.netloc.rpartition("@")[2]},
                redirect=False,
                preload_content=False,
            )
            answer.status = response.status
            answer.headers = dict(response.headers)
            answer.body = response.read(RESPONSE_MAX_BYTES).decode("utf-8", "replace")
            response.release_conn()
    except Unresolvable as error:
        answer.error = str(error)
    except UnsafeURL as error:
        answer.error = str(error)
        answer.refused = True
    except (urllib3.exceptions.HTTPError, OSError) as error:
        answer.error = f"{type(error).__name__}: {error}"[:500]
    answer.duration_ms = round((time.monotonic() - started) * 1000)
    return answer
