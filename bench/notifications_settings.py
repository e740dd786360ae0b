"""The notifications benchmark's server (bench/notifications.py): production settings, plus
the inbox's data floor (bench/notifications_urls.py), which production never mounts."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.notifications_urls"
