import time

from django.core.management.base import BaseCommand, CommandError

from demo.data import DEMO_ADMIN, DEMO_PASSWORD, DEMO_USERS
from demo.services import DemoConflict, demo_issues_bulk, demo_projects, demo_seed
from projects.models import Project


class Command(BaseCommand):
    help = (
        "Make demo data: users in every project role, projects, labels and issues in every "
        "status. Safe to run again: only what is missing is added. --issues N adds N more "
        "issues (bulk inserts, for trying lists and benchmarks)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--issues", type=int, default=0, metavar="N", help="add N more issues, fast"
        )
        parser.add_argument(
            "--project",
            action="append",
            metavar="KEY",
            help="put the --issues in this project (repeatable; default: the demo projects)",
        )
        parser.add_argument("--batch-size", type=int, default=5000, metavar="N")
        parser.add_argument("--seed", type=int, help="random seed, for repeatable data")
        parser.add_argument(
            "--base-url", default="http://127.0.0.1:8000", help="where the server answers"
        )

    def handle(self, *args, issues, project, batch_size, seed, base_url, **options):
        if issues < 0 or batch_size < 1:
            raise CommandError("--issues must be 0 or more and --batch-size 1 or more.")
        try:
            summary = demo_seed()
        except DemoConflict as e:
            raise CommandError(str(e)) from e
        made = ", ".join(f"{n} {what}" for what, n in summary.created.items() if n)
        self.stdout.write(f"Base demo data: {made or 'all there already'}.")

        if issues:
            projects = self._projects(project)
            started = time.monotonic()
            demo_issues_bulk(
                count=issues,
                projects=projects,
                batch_size=batch_size,
                seed=seed,
                progress=self._progress(started),
            )
            elapsed = time.monotonic() - started
            self.stdout.write(
                f"Added {issues:,} issues to {', '.join(p.key for p in projects)} in "
                f"{elapsed:.1f} s ({issues / elapsed:,.0f} issues/s)."
            )
        self._print_guide(base_url.rstrip("/"))

    def _projects(self, keys):
        if not keys:
            return demo_projects()
        projects = list(Project.objects.filter(key__in=[k.upper() for k in keys]))
        missing = {k.upper() for k in keys} - {p.key for p in projects}
        if missing:
            raise CommandError(f"No project with the key {', '.join(sorted(missing))}.")
        archived = [p.key for p in projects if p.is_archived]
        if archived:
            raise CommandError(f"Archived projects are read-only: {', '.join(archived)}.")
        return projects

    def _progress(self, started):
        """Report progress on stderr: one rewritten line on a terminal, else every 10%."""
        tty = self.stderr.isatty()
        shown = {"tenth": 0}

        def report(done, total):
            rate = done / max(time.monotonic() - started, 1e-6)
            line = f"{done:,}/{total:,} issues ({done * 100 // total}%), {rate:,.0f}/s"
            if tty:
                self.stderr.write(f"\r{line}", ending="\n" if done == total else "")
            elif done * 10 // total > shown["tenth"] or done == total:
                shown["tenth"] = done * 10 // total
                self.stderr.write(line)

        return report

    def _print_guide(self, base):
        projects = ", ".join(p.key for p in demo_projects())
        self.stdout.write(f"\nDemo users, all with the password {DEMO_PASSWORD!r}:")
        self.stdout.write(f"  {DEMO_ADMIN[0]:<16} site admin: everything, and the Django admin")
        for username, _, role in DEMO_USERS:
            where = f"{role.label} in {projects}" if role else "member of no project"
            self.stdout.write(f"  {username:<16} {where}")
        self.stdout.write(
            "Anyone who knows this password can sign in as them: never seed a database "
            "that others can reach.\n"
            f"\n  API docs (Swagger UI)  {base}/api/v1/docs/  (ReDoc: {base}/api/v1/redoc/)"
            f"\n  Browsable API          {base}/api/v1/  (sign in: {base}/api/v1/session/login/)"
            f"\n  Django admin           {base}/admin/  (as {DEMO_ADMIN[0]})"
        )
