from django.db import transaction

from issues.events import event_record
from issues.models import IssueEvent
from projects.services import project_ensure_active

from .models import Comment


@transaction.atomic
def comment_create(*, issue, author, body: str, record_event: bool = True) -> Comment:
    """Comment on an issue; the comment shows in the issue's history unless a
    transition records it itself."""
    project_ensure_active(project=issue.project)
    comment = Comment(issue=issue, author=author, body=body)
    # The issue and author are rows in hand: no query to check they exist.
    comment.full_clean(exclude=["issue", "author"])
    comment.save()
    if record_event:
        event_record(issue=issue, actor=author, kind=IssueEvent.Kind.COMMENTED, comment=comment)
    return comment


@transaction.atomic
def comment_update(*, comment: Comment, body: str | None = None) -> Comment:
    project_ensure_active(project=comment.issue.project)
    if body is not None and body != comment.body:
        comment.body = body
        comment.edited = True
        comment.full_clean()
        comment.save(update_fields=["body", "edited", "updated_at"])
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment) -> None:
    project_ensure_active(project=comment.issue.project)
    comment.delete()
