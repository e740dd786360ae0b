from django.db import transaction

from api.versions import Expected, lock_for_write
from events.models import Event
from events.outbox import event_emit
from projects.services import project_ensure_active

from .models import Comment
from .representation import comment_representation


def _emit(type: str, comment: Comment, actor, **extra) -> None:
    event_emit(
        type=type,
        project=comment.issue.project,
        actor=actor,
        data=comment_representation(comment),
        **extra,
    )


# No savepoint of its own inside a caller's transaction (issue_comment, a transition): a
# refusal there undoes the caller's whole change anyway, and a savepoint costs two statements.
@transaction.atomic(savepoint=False)
def comment_create(*, issue, author, body: str) -> Comment:
    """Write a comment on an issue. The issue's history is the issues app's to record
    (issues.services.issue_comment, or the transition a comment explains): comments sit
    below issues and never call back into them."""
    project_ensure_active(project=issue.project)
    comment = Comment(issue=issue, author=author, body=body)
    # The issue and author are rows in hand: no query to check they exist.
    comment.full_clean(exclude=["issue", "author"])
    comment.save()
    _emit(Event.Type.COMMENT_CREATED, comment, author)
    return comment


def _lock(comment: Comment, expected: Expected | None) -> Comment:
    """The comment read again with its row locked, if still the version expected, with
    what its representation reads."""
    comments = Comment.objects.select_related("author", "issue__project")
    return lock_for_write(comments, comment.pk, expected)


@transaction.atomic
def comment_update(
    *,
    comment: Comment,
    body: str | None = None,
    actor=None,
    expected: Expected | None = None,
) -> Comment:
    comment = _lock(comment, expected)
    project_ensure_active(project=comment.issue.project)
    if body is not None and body != comment.body:
        old = comment.body
        comment.body = body
        comment.edited = True
        comment.full_clean()
        comment.save(update_fields=["body", "edited", "updated_at"])
        _emit(Event.Type.COMMENT_UPDATED, comment, actor, changes={"body": old})
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, actor=None, expected: Expected | None = None) -> None:
    comment = _lock(comment, expected)
    project_ensure_active(project=comment.issue.project)
    data = comment_representation(comment)
    comment.delete()
    event_emit(
        type=Event.Type.COMMENT_DELETED, project=comment.issue.project, actor=actor, data=data
    )


@transaction.atomic
def comments_delete(*, comments, actor=None) -> int:
    """Delete several comments, all or none (one refused, e.g. archived, keeps them all)."""
    deleted = 0
    for comment in comments:
        comment_delete(comment=comment, actor=actor)
        deleted += 1
    return deleted


# -- imports (transfers/) ---------------------------------------------------------------


@transaction.atomic(savepoint=False)
def comment_import(
    *, issue, author, body: str, created_at=None, updated_at=None, edited: bool = False, actor=None
) -> Comment:
    """A comment brought in by an import (issues.services.issue_import): as comment_create,
    keeping the times it had where it came from (if known); `actor` (the importer) made the
    change."""
    project_ensure_active(project=issue.project)
    comment = Comment(issue=issue, author=author, body=body, edited=edited)
    comment.full_clean(exclude=["issue", "author"])
    comment.save()
    if created_at is not None:
        # auto_now_add and auto_now stamp every save; the original times replace them.
        comment.created_at, comment.updated_at = created_at, updated_at or created_at
        Comment.objects.filter(pk=comment.pk).update(
            created_at=comment.created_at, updated_at=comment.updated_at
        )
    _emit(Event.Type.COMMENT_CREATED, comment, actor)
    return comment
