"""What every resource's representation shares. Nothing here needs Django's settings, so
the benchmark's bare WSGI floor (bench/bare.py) renders with the same code as the API."""

from datetime import UTC


def utc_iso(value):
    """DRF DateTimeField's ISO 8601 in UTC (`...Z`), without its per-call overhead: for the
    representations built by hand."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
