"""The Celery app: webhooks are relayed and delivered by its workers (see webhooks/tasks.py).

Settings come from Django's `CELERY_*` settings (config/settings/base.py says which broker).
The database's outbox is what must not be lost; the broker only carries ids, so a task
lost with the broker is found again by the sweeper.
"""

import logging
import os

from celery import Celery
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


def enqueue(name: str, *args, eta=None) -> bool:
    """Queue the task named `name` (to run at `eta`, if given), by name so callers need not
    import its app. When the broker is down, log and go on: what the task would do is in the
    database, and the sweeper queues it again."""
    try:
        app.tasks[name].apply_async(args, eta=eta)
    except (OperationalError, OSError):
        logger.warning("Could not queue %s%r; the sweeper will.", name, args, exc_info=True)
        return False
    return True
