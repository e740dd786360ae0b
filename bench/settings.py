"""The benchmark's server: production settings, plus the two reference endpoints that only
the benchmark mounts (bench/urls.py); production URLs never include them."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
