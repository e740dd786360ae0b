from django.core.management.base import BaseCommand

from accounts.services import tokens_prune


class Command(BaseCommand):
    help = "Delete expired refresh tokens, token families and revoked access tokens."

    def handle(self, *args, **options):
        deleted = tokens_prune()
        summary = ", ".join(f"{count} {name}" for name, count in deleted.items())
        self.stdout.write(f"Deleted {summary}.")
