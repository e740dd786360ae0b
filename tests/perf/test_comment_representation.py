"""CommentSerializer writes its representation by hand for speed; it must stay exactly
what its declared fields would give."""

import pytest
from rest_framework import serializers

from comments.serializers import CommentSerializer
from tests.factories import CommentFactory, IssueFactory, UserFactory

pytestmark = pytest.mark.django_db


def declared(comment, request=None) -> dict:
    """The representation DRF builds field by field from the declared fields."""
    serializer = CommentSerializer(context={"request": request})
    return serializers.ModelSerializer.to_representation(serializer, comment)


def test_the_lean_representation_equals_the_declared_one(project, rf):
    issue = IssueFactory(project=project)
    comments = [
        CommentFactory(issue=issue, author=UserFactory(display_name="Ada Lovelace")),
        CommentFactory(issue=issue, body="  spaced  \n", edited=True),
        CommentFactory(issue=issue),
    ]
    comments[2].author.delete()  # the author becomes null
    request = rf.get("/api/v1/issues", secure=True)
    loaded = list(issue.comments.select_related("author").order_by("id"))
    assert loaded[2].author is None
    for context in ({"request": request}, {}):
        many = CommentSerializer(loaded, many=True, context=context).data
        assert many == [declared(c, context.get("request")) for c in loaded]
    assert many[0]["url"] == f"/api/v1/comments/{loaded[0].pk}"
    assert (
        CommentSerializer(loaded[0], context={"request": request})
        .data["url"]
        .startswith("https://")
    )


def test_the_comment_list_answers_what_its_serializer_declares(project, client_for):
    issue = IssueFactory(project=project)
    for _ in range(3):
        CommentFactory(issue=issue)
    client = client_for(project.created_by)
    rows = client.get(f"/api/v1/issues/{issue.key}/comments").json()["results"]
    comments = issue.comments.select_related("author").order_by("created_at", "id")
    request = client.get(f"/api/v1/issues/{issue.key}/comments").wsgi_request
    assert rows == [declared(c, request) for c in comments]
