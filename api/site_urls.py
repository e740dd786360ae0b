"""Pages at the site's root: the index for people and the probes operators call."""

from django.urls import path

from . import health, metrics
from .root import site_root

urlpatterns = [
    path("", site_root, name="site-root"),
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
    # Prometheus scrapes /metrics inside the cluster, with METRICS_TOKEN; the ingress does
    # not route it.
    path("metrics", metrics.metrics, name="metrics"),
]
