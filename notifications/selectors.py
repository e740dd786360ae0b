"""Reads of notifications that views, the admin and the benchmark share."""

from accounts.callers import user_of
from comments.models import Comment
from projects.models import Project

from .models import Inbox, IssueSubscription, ProjectSubscription, Thread

# What a thread's representation reads (serializers.thread_data): the thread's columns and
# a few of its issue's, its project's and its actor's, as plain rows: a page of 100 threads
# as model instances (400 objects) cost more than its query.
THREAD_ROW_FIELDS = (
    "id",
    "reason",
    "event_id",
    "updated_at",
    "read_at",
    "issue__number",
    "issue__title",
    "issue__status",
    "project__key",
    "actor__id",
    "actor__username",
    "actor__display_name",
    "actor__type",
)


def inbox_threads(caller):
    """The threads of the person `caller` stands for that they may see now (visibility now,
    not when notified: losing access to a project hides its threads; a token limited to
    projects sees only theirs), newest activity first, not done. The issue is joined (a
    deleted one's thread, until the worker deletes it, is not listed)."""
    visible = Project.objects.visible_to(caller).values("pk")
    threads = Thread.objects.filter(
        user=user_of(caller), done_at__isnull=True, project_id__in=visible
    )
    return _joined(threads).order_by("-updated_at", "-id")


def _joined(threads):
    """Only threads whose issue exists (an INNER JOIN: the issue is not a constraint)."""
    return threads.filter(issue__number__isnull=False)


def thread_rows(queryset) -> list[dict]:
    """A page of threads as plain rows (THREAD_ROW_FIELDS)."""
    return list(queryset.values(*THREAD_ROW_FIELDS))


def thread_get(caller, thread_id: int) -> Thread | None:
    """One of the person's threads that they may see now (done ones too), or None."""
    visible = Project.objects.visible_to(caller).values("pk")
    threads = Thread.objects.filter(pk=thread_id, user=user_of(caller), project_id__in=visible)
    return _joined(threads).first()


def thread_row(caller, thread_id: int) -> dict | None:
    """thread_get's thread as a plain row, or None."""
    visible = Project.objects.visible_to(caller).values("pk")
    threads = Thread.objects.filter(pk=thread_id, user=user_of(caller), project_id__in=visible)
    return _joined(threads).values(*THREAD_ROW_FIELDS).first()


def inbox_version(user) -> str:
    """The version of the person's inbox: changes with every write to it (consumer.py)."""
    return Inbox.objects.filter(user=user).values_list("version", flat=True).first() or ""


def issue_subscription(user, issue) -> tuple[bool, str | None]:
    """Whether the person hears of the issue's activity, and why: `watching`, `reporter`,
    `assignee`, `commented`, `mentioned`, `project` (watching all of its project); or
    not: `unwatched` (they unwatched it), None (they take no part)."""
    state = (
        IssueSubscription.objects.filter(user=user, issue=issue)
        .values_list("state", flat=True)
        .first()
    )
    if state == IssueSubscription.State.WATCHING:
        return True, "watching"
    if state == IssueSubscription.State.UNWATCHED:
        return False, "unwatched"
    if issue.reporter_id == user.pk:
        return True, "reporter"
    if issue.assignee_id == user.pk:
        return True, "assignee"
    if Comment.objects.filter(issue=issue, author=user).exists():
        return True, "commented"
    if state == IssueSubscription.State.MENTIONED:
        return True, "mentioned"
    watching_project = ProjectSubscription.objects.filter(
        user=user, project_id=issue.project_id, level=ProjectSubscription.Level.ALL
    ).exists()
    if watching_project:
        return True, "project"
    return False, None


def project_subscription(user, project) -> str | None:
    """The level at which the person watches the project, or None."""
    return (
        ProjectSubscription.objects.filter(user=user, project=project)
        .values_list("level", flat=True)
        .first()
    )
