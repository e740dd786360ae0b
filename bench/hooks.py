"""The benchmark's webhooks: subscribe a project to a local receiver, and count deliveries
(run by bench/run.py with the server's environment).

    DJANGO_SETTINGS_MODULE=bench.settings python -m bench.hooks subscribe CORE URL --count 5
    DJANGO_SETTINGS_MODULE=bench.settings python -m bench.hooks relay
    DJANGO_SETTINGS_MODULE=bench.settings python -m bench.hooks deliveries
"""

import argparse
import json
import sys

DESCRIPTION = "benchmark"


def subscribe(project_key: str, url: str, count: int) -> list[int]:
    """`count` webhooks of the project to every event type, sent to `url`; earlier ones
    made by the benchmark are deleted first."""
    from accounts.models import User
    from projects.models import Project
    from webhooks.models import Webhook
    from webhooks.services import webhook_create

    from .seed import CALLER

    project = Project.objects.get(key=project_key)
    Webhook.objects.filter(description=DESCRIPTION).delete()
    creator = User.objects.get(username=CALLER)
    return [
        webhook_create(project=project, creator=creator, url=url, description=DESCRIPTION).pk
        for _ in range(count)
    ]


def relay() -> int:
    """Empty the broker's queue, then relay the events made since the benchmark's webhooks
    (queued after commit, as the worker would): its queue holds their deliveries only."""
    from config.celery import app
    from events.models import Event
    from webhooks.models import Webhook
    from webhooks.services import event_relay

    app.control.purge()
    first = Webhook.objects.filter(description=DESCRIPTION).order_by("created_at").first()
    if first is None:
        return 0
    events = Event.objects.filter(
        project_id=first.project_id,
        created_at__gte=first.created_at,
        dispatched_at__isnull=True,
    ).order_by("pk")
    return sum(len(event_relay(event_id=pk)) for pk in events.values_list("pk", flat=True))


def deliveries() -> dict:
    """How many of the benchmark's deliveries are in each status."""
    from django.db.models import Count

    from webhooks.models import Delivery

    rows = (
        Delivery.objects.filter(webhook__description=DESCRIPTION)
        .values("status")
        .annotate(n=Count("id"))
    )
    return {row["status"]: row["n"] for row in rows}


def main(argv=None) -> int:
    import django

    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("subscribe")
    add.add_argument("project")
    add.add_argument("url")
    add.add_argument("--count", type=int, default=5)
    commands.add_parser("relay")
    commands.add_parser("deliveries")
    args = parser.parse_args(argv)
    django.setup()
    if args.command == "subscribe":
        print(json.dumps(subscribe(args.project, args.url, args.count)))
    elif args.command == "relay":
        print(json.dumps(relay()))
    else:
        print(json.dumps(deliveries()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
