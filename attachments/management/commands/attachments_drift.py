"""Report, and with --repair fix, drift between attachment rows and stored objects: objects
no row points at (left by a deletion whose clean-up never ran, e.g. a worker killed, or by
an issue, comment or project deleted with its rows) are deleted; rows whose object is
missing are reported, and with --repair marked rejected so nobody is offered a download
that cannot work."""

from django.core.management.base import BaseCommand

from attachments.models import Attachment
from attachments.storage import attachments_storage

PREFIX = "a"


class Command(BaseCommand):
    help = "Report (and with --repair fix) drift between attachment rows and stored objects."

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="Fix what is found.")

    def handle(self, *args, repair=False, **options):
        storage = attachments_storage()
        try:
            _dirs, files = storage.listdir(PREFIX)
        except FileNotFoundError:
            files = []
        stored = {f"{PREFIX}/{name}" for name in files}
        rows = dict(Attachment.objects.values_list("key", "status"))
        orphans = sorted(stored - set(rows))
        missing = sorted(
            key
            for key, status in rows.items()
            if key not in stored and status == Attachment.Status.AVAILABLE
        )
        for key in orphans:
            self.stdout.write(f"orphan object {key}")
            if repair:
                storage.delete(key)
        for key in missing:
            self.stdout.write(f"missing object for row {key}")
        if repair and missing:
            Attachment.objects.filter(key__in=missing).update(
                status=Attachment.Status.REJECTED, reason="The stored file is missing."
            )
        verb = "repaired" if repair else "found"
        self.stdout.write(f"{verb}: {len(orphans)} orphan objects, {len(missing)} missing objects")
