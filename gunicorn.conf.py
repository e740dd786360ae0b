"""Gunicorn settings for the container (`gunicorn --config gunicorn.conf.py config.wsgi`).

Every value can be changed from the environment; the defaults suit a pod with 2 CPU cores.
"""

import glob
import os


def _env(name: str, default: str) -> str:
    # Blank counts as unset, as in .env.sample (which Docker Compose passes on as is).
    return os.environ.get(name) or default


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


bind = _env("GUNICORN_BIND", f"0.0.0.0:{_env('PORT', '8000')}")

# Threads serve the I/O-bound requests (database, Redis); one process per core uses the CPU.
worker_class = "gthread"
workers = _env_int("WEB_CONCURRENCY", 2)
threads = _env_int("GUNICORN_THREADS", 4)

# A worker silent this long is killed and replaced (the ingress itself waits 60 s).
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# On SIGTERM, in-flight requests get this long: below the pod's terminationGracePeriodSeconds.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 25)
# Longer than the ingress's upstream keep-alive, so the ingress closes idle connections first.
keepalive = _env_int("GUNICORN_KEEPALIVE", 75)
# Recycle workers now and then (bounding slow leaks), not all at once.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 100)

# TLS ends at the ingress. Its address is not fixed; "*" is set in k8s/configmap.yaml, where
# only in-cluster peers reach the pod. Django trusts X-Forwarded-Proto on its own (settings).
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# JSON lines: access log on stdout (with request id and duration), server log on stderr.
logger_class = "config.logging.GunicornLogger"
accesslog = "-"
errorlog = "-"
loglevel = _env("LOG_LEVEL", "info").lower()

# The runtime control socket (gunicornc) would need a writable $HOME; pods are managed by
# Kubernetes instead.
control_socket_disable = True

# Each worker keeps its Prometheus metrics in files here and /metrics adds them up, so one
# scrape sees the whole pod. The variable must be set before prometheus_client is first
# imported (it picks its storage then), and only for gunicorn: management commands given it
# would write there too. /tmp is the writable emptyDir of a read-only pod.
_prometheus_dir = _env("PROMETHEUS_MULTIPROC_DIR", "/tmp/prometheus")  # noqa: S108
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _prometheus_dir


def on_starting(server):
    """Start from empty metrics: files left by an earlier run would be counted again."""
    os.makedirs(_prometheus_dir, exist_ok=True)
    for path in glob.glob(os.path.join(_prometheus_dir, "*.db")):
        os.remove(path)


def child_exit(server, worker):
    """Drop a finished worker's live gauges (its counters stay in the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """Move what the worker has loaded (Django, the URLconf, settings: over 100,000
    objects that live as long as it does) out of the collector's reach. Otherwise each full
    collection walks them all again, a pause of tens of milliseconds in whichever request
    triggered it: the p99 of a list that allocates much (gc.freeze, Python's docs)."""
    import gc

    gc.collect()
    gc.freeze()
