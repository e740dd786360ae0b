"""The consumer starts at the end of the outbox as it is when notifications arrive: the
events before it (changes made before anyone could watch) notify nobody."""

from django.db import migrations
from django.db.models import Max


def start_at_the_end(apps, schema_editor):
    Event = apps.get_model("events", "Event")
    EventCursor = apps.get_model("notifications", "EventCursor")
    last = Event.objects.aggregate(last=Max("id"))["last"] or 0
    EventCursor.objects.update_or_create(name="notifications", defaults={"last_event_id": last})


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("events", "0001_initial"),
    ]

    operations = [migrations.RunPython(start_at_the_end, migrations.RunPython.noop)]
