"""Which address a request comes from: the one answer throttles, login limits and logs use."""

from django.conf import settings


def client_ip(request) -> str:
    """The peer's address (REMOTE_ADDR), or with NUM_PROXIES trusted proxies in front, the
    address the outermost of them received the request from.

    Each proxy appends the address it saw to X-Forwarded-For; entries before the ones our
    proxies appended came from the client and may be anything, so they are never read.
    """
    remote_addr = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.NUM_PROXIES <= 0 or not forwarded:
        return remote_addr
    hops = [hop.strip() for hop in forwarded.split(",")]
    return hops[-min(settings.NUM_PROXIES, len(hops))] or remote_addr
