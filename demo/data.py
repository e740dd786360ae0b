"""What the demo holds (`manage.py seed_demo`): its people, projects, labels and issues,
and the odds bulk issues are drawn with; demo/services.py makes them."""

from accounts.factories import DEFAULT_PASSWORD
from issues.models import Issue
from projects.models import Role

DEMO_PASSWORD = DEFAULT_PASSWORD

# username, display name, role in every demo project (None: no membership).
DEMO_USERS = [
    ("demo-owner", "Olivia Owner", Role.OWNER),
    ("demo-maintainer", "Max Maintainer", Role.MAINTAINER),
    ("demo-developer", "Dana Developer", Role.DEVELOPER),
    ("demo-reviewer", "Rui Reviewer", Role.DEVELOPER),
    ("demo-reporter", "Rita Reporter", Role.REPORTER),
    ("demo-viewer", "Victor Viewer", Role.VIEWER),
    ("demo-outsider", "Oscar Outsider", None),
]
DEMO_ADMIN = ("demo-admin", "Ada Admin")

# key, name, visibility, description
DEMO_PROJECTS = [
    ("WEB", "Web app", "internal", "The customer-facing web application."),
    ("API", "Public API", "private", "The JSON API that the web and mobile apps call."),
    ("OPS", "Operations", "private", "Deployment, monitoring and on-call chores."),
]

# name, colour
DEMO_LABELS = [
    ("bug", "#D73A4A"),
    ("feature", "#1F883D"),
    ("docs", "#0075CA"),
    ("ui", "#A2EEEF"),
    ("performance", "#FBCA04"),
    ("security", "#B60205"),
]

# title, type, priority, labels; each project gets them all, in statuses that cycle
# through every workflow state.
DEMO_ISSUES = [
    ("Sign-in form accepts an empty password", "bug", 5, ["bug", "security"]),
    ("Dark mode for the dashboard", "feature", 2, ["feature", "ui"]),
    ("Document the rate limits", "task", 3, ["docs"]),
    ("Issue list is slow with 10,000 issues", "bug", 4, ["bug", "performance"]),
    ("Export issues as CSV", "feature", 3, ["feature"]),
    ("Typo on the settings page", "bug", 1, ["ui"]),
    ("Rotate the signing keys every quarter", "task", 4, ["security"]),
    ("Keyboard shortcuts for the workflow", "feature", 2, ["feature", "ui"]),
    ("Explain project roles in the help pages", "task", 2, ["docs"]),
    ("Search ignores words in the description", "bug", 3, ["bug"]),
]
STATUSES = Issue.Status.values

# How often each status occurs among bulk issues (most work is open or done).
STATUS_WEIGHTS = {"open": 35, "in_progress": 12, "in_review": 8, "resolved": 15, "closed": 30}
RESOLUTION_WEIGHTS = {"fixed": 60, "duplicate": 10, "wont_fix": 12, "cannot_reproduce": 10}
CLOSED_RESOLUTIONS = {**RESOLUTION_WEIGHTS, "obsolete": 8}
TYPES, PRIORITIES = Issue.Type.values, Issue.Priority.values
WORKING = ("in_progress", "in_review")  # always assigned; otherwise by these odds
ASSIGNED = {"open": 0.3, "closed": 0.6}
# How many labels and comments a bulk issue gets, drawn from these.
LABELS = (0, 1, 1, 2)
COMMENTS = (0,) * 16 + (1, 1, 2, 3)
