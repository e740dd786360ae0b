"""The attachments benchmark's server (bench/attachments.py): production settings, plus
the attachment list's data floor (bench/attachments_urls.py), which production never
mounts."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.attachments_urls"
