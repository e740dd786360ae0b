"""/metrics in Prometheus format, only for a scraper holding METRICS_TOKEN."""

import hmac

from django.conf import settings
from django.views.decorators.cache import never_cache
from django_prometheus.exports import ExportToDjangoView

from api.exceptions import not_found


@never_cache
def metrics(request):
    """The scrape, for `Authorization: Bearer <METRICS_TOKEN>`.

    Anyone else, and everyone while METRICS_TOKEN is blank, gets the 404 of an unknown path:
    with Compose nothing stands between the application port and the network, and a refusal
    that says "wrong token" would tell a scanner what is there. A token rather than an
    address allow-list: it works the same in Compose and Kubernetes, where the peer address
    may be a proxy's (Docker's) or a pod network's that differs per cluster.
    """
    token = settings.METRICS_TOKEN
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if not (
        token
        and scheme.lower() == "bearer"
        and hmac.compare_digest(credentials.encode(), token.encode())  # constant time
    ):
        return not_found(request)
    return ExportToDjangoView(request)
