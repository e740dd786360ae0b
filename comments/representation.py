"""A comment as clients read it: the one place its JSON is built, for the API
(CommentSerializer) and the events' payloads (comments/services.py). Built by hand, as an
issue's is: a page of comments through DRF's field-by-field machinery cost more than its
query. CommentSerializer's declared fields still describe the schema, and
tests/perf/test_comment_representation.py keeps the two equal."""

from accounts.representation import user_summary
from api.links import detail_urls
from api.representation import utc_iso

COMMENT_URL = "comment-detail"  # the route of a comment's address, by id


def comment_data(comment, url) -> dict:
    """A comment (read with its author, and its issue's project) as its GET answers it;
    `url` gives a comment's address from its id (api.links.detail_urls)."""
    return {
        "id": comment.id,
        "url": url(comment.pk),
        "issue": comment.issue.key,
        "author": user_summary(comment.author),
        "body": comment.body,
        "created_at": utc_iso(comment.created_at),
        "updated_at": utc_iso(comment.updated_at),
        "edited": comment.edited,
    }


def comment_representation(comment, request=None) -> dict:
    """comment_data for one comment; without a request (an event's payload) its `url` is a
    path."""
    return comment_data(comment, detail_urls(COMMENT_URL, request))
