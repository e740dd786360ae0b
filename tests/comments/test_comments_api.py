"""Comments: /issues/{key}/comments and /comments/{id}, and their place in the history."""

import pytest
from django.utils import timezone

from comments.models import Comment
from issues.models import IssueEvent
from projects.models import Project, Role
from tests.factories import CommentFactory, IssueFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue(project):
    return IssueFactory(project=project)


def comments_url(issue):
    return f"/api/v1/issues/{issue.key}/comments"


def comment_url(comment):
    return f"/api/v1/comments/{comment.pk}"


def stored(comment) -> tuple:
    comment = Comment.objects.filter(pk=comment.pk).first()
    return None if comment is None else (comment.body, comment.edited, comment.author_id)


def test_create_returns_the_comment_and_records_it(issue, reporter, client_for):
    body = "Looks like a **race**:\n\n```\ntrace\n```\n  "
    response = client_for(reporter).post(comments_url(issue), {"body": body}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    comment = Comment.objects.get(pk=data["id"])
    assert data["issue"] == issue.key
    assert data["author"] == {
        "id": reporter.pk,
        "username": reporter.username,
        "display_name": reporter.display_name,
        "type": "user",
    }
    assert data["body"] == body == comment.body  # stored as given, whitespace and all
    assert data["edited"] is False
    assert data["created_at"] and data["updated_at"]
    assert (comment.issue, comment.author) == (issue, reporter)
    event = issue.events.get()
    assert (event.kind, event.actor, event.comment) == (
        IssueEvent.Kind.COMMENTED,
        reporter,
        comment,
    )


def test_client_cannot_choose_author_issue_or_edited(project, issue, reporter, client_for):
    other_issue = IssueFactory(project=project)
    someone = UserFactory()
    response = client_for(reporter).post(
        comments_url(issue),
        {"body": "Hi", "author": someone.pk, "issue": other_issue.key, "edited": True},
        format="json",
    )
    assert response.status_code == 201
    comment = Comment.objects.get()
    assert (comment.author, comment.issue, comment.edited) == (reporter, issue, False)


@pytest.mark.parametrize(
    "payload", [{}, {"body": ""}, {"body": "  \n\t"}, {"body": "x" * 20_001}, {"body": None}]
)
def test_create_validation(issue, reporter, client_for, payload):
    response = client_for(reporter).post(comments_url(issue), payload, format="json")
    assert response.status_code == 400, response.content
    assert [e["field"] for e in response.json()["errors"]] == ["body"]
    assert not Comment.objects.exists()
    assert not IssueEvent.objects.exists()


def test_longest_body_is_accepted(issue, reporter, client_for):
    response = client_for(reporter).post(comments_url(issue), {"body": "x" * 20_000}, "json")
    assert response.status_code == 201
    assert len(Comment.objects.get().body) == 20_000


def test_list_is_the_issues_comments_oldest_first(project, issue, member_of, client_for):
    first = CommentFactory(issue=issue, body="first")
    CommentFactory(issue=IssueFactory(project=project), body="elsewhere")
    second = CommentFactory(issue=issue, body="second")
    response = client_for(member_of(project, "viewer")).get(comments_url(issue))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(c["id"], c["body"]) for c in results] == [(first.pk, "first"), (second.pk, "second")]
    assert {c["issue"] for c in results} == {issue.key}


def test_detail(issue, reporter, client_for):
    comment = CommentFactory(issue=issue, author=reporter, body="Hello")
    response = client_for(reporter).get(comment_url(comment))
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["body"]) == (comment.pk, "Hello")


def test_author_edits_own_comment_and_it_is_marked_edited(issue, reporter, client_for):
    comment = CommentFactory(issue=issue, author=reporter, body="Teh bug")
    response = client_for(reporter).patch(comment_url(comment), {"body": "The bug"}, "json")
    assert response.status_code == 200, response.content
    assert (response.json()["body"], response.json()["edited"]) == ("The bug", True)
    assert stored(comment) == ("The bug", True, reporter.pk)
    comment.refresh_from_db()
    assert comment.updated_at >= comment.created_at


def test_saving_the_same_body_is_not_an_edit(issue, reporter, client_for):
    comment = CommentFactory(issue=issue, author=reporter, body="Same")
    response = client_for(reporter).patch(comment_url(comment), {"body": "Same"}, "json")
    assert response.status_code == 200
    assert response.json()["edited"] is False
    assert stored(comment) == ("Same", False, reporter.pk)


@pytest.mark.parametrize("payload", [{"body": ""}, {"body": "   "}, {"body": "x" * 20_001}])
def test_edit_validation(issue, reporter, client_for, payload):
    comment = CommentFactory(issue=issue, author=reporter, body="Keep")
    response = client_for(reporter).patch(comment_url(comment), payload, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["body"]
    assert stored(comment) == ("Keep", False, reporter.pk)


@pytest.mark.parametrize("kind", ["reporter", "developer", "maintainer", "owner", "site_admin"])
def test_nobody_edits_anothers_comment(project, issue, reporter, caller, client_for, kind):
    comment = CommentFactory(issue=issue, author=reporter, body="Mine")
    response = client_for(caller(project, kind)).patch(
        comment_url(comment), {"body": "Yours now"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert stored(comment) == ("Mine", False, reporter.pk)


def test_put_is_not_offered(issue, reporter, client_for):
    comment = CommentFactory(issue=issue, author=reporter, body="Keep")
    response = client_for(reporter).put(comment_url(comment), {"body": "Other"}, format="json")
    assert response.status_code == 405
    assert stored(comment) == ("Keep", False, reporter.pk)


def test_a_demoted_author_can_no_longer_edit_or_delete(issue, reporter, client_for):
    comment = CommentFactory(issue=issue, author=reporter, body="Mine")
    reporter.memberships.update(role=Role.VIEWER)
    client = client_for(reporter)
    assert client.patch(comment_url(comment), {"body": "x"}, format="json").status_code == 403
    assert client.delete(comment_url(comment)).status_code == 403
    assert stored(comment) == ("Mine", False, reporter.pk)


def test_author_deletes_own_comment(issue, reporter, client_for):
    comment = CommentFactory(issue=issue, author=reporter)
    event = IssueEvent.objects.create(
        issue=issue, actor=reporter, kind=IssueEvent.Kind.COMMENTED, comment=comment
    )
    response = client_for(reporter).delete(comment_url(comment))
    assert response.status_code == 204
    assert stored(comment) is None
    event.refresh_from_db()
    assert event.comment is None  # the history keeps that a comment was made
    assert client_for(reporter).get(comment_url(comment)).status_code == 404


@pytest.mark.parametrize("kind", ["maintainer", "owner", "site_admin"])
def test_maintainers_delete_any_comment(project, issue, reporter, caller, client_for, kind):
    comment = CommentFactory(issue=issue, author=reporter)
    response = client_for(caller(project, kind)).delete(comment_url(comment))
    assert response.status_code == 204
    assert stored(comment) is None


@pytest.mark.parametrize("kind", ["viewer", "reporter", "developer"])
def test_below_maintainer_cannot_delete_anothers_comment(
    project, issue, reporter, caller, client_for, kind
):
    comment = CommentFactory(issue=issue, author=reporter, body="Stay")
    response = client_for(caller(project, kind)).delete(comment_url(comment))
    assert response.status_code == 403
    assert stored(comment) == ("Stay", False, reporter.pk)


def test_comments_of_deleted_authors_stay_and_nobody_edits_them(issue, reporter, client_for):
    comment = CommentFactory(issue=issue, author=reporter, body="Orphan")
    reporter.delete()
    owner = client_for(issue.project.created_by)
    response = owner.get(comment_url(comment))
    assert response.status_code == 200
    assert response.json()["author"] is None
    assert owner.patch(comment_url(comment), {"body": "x"}, format="json").status_code == 403
    assert stored(comment) == ("Orphan", False, None)


def test_archived_project_comments_are_read_only(project, issue, reporter, client_for):
    comment = CommentFactory(issue=issue, author=reporter, body="Frozen")
    Project.objects.filter(pk=project.pk).update(archived_at=timezone.now())
    client = client_for(reporter)
    responses = [
        client.post(comments_url(issue), {"body": "New"}, format="json"),
        client.patch(comment_url(comment), {"body": "Edited"}, format="json"),
        client.delete(comment_url(comment)),
        client_for(project.created_by).delete(comment_url(comment)),
    ]
    for response in responses:
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "project_archived"
    assert list(Comment.objects.values_list("body", flat=True)) == ["Frozen"]
    assert client.get(comments_url(issue)).status_code == 200


def test_hidden_issues_comments_are_404(issue, client_for):
    comment = CommentFactory(issue=issue, body="Secret")
    outsider = client_for(UserFactory())
    responses = [
        outsider.get(comments_url(issue)),
        outsider.post(comments_url(issue), {"body": "Hi"}, format="json"),
        outsider.get(comment_url(comment)),
        outsider.patch(comment_url(comment), {"body": "x"}, format="json"),
        outsider.delete(comment_url(comment)),
    ]
    for response in responses:
        assert response.status_code == 404
        assert "Secret" not in response.content.decode()
    assert list(Comment.objects.values_list("body", flat=True)) == ["Secret"]


def test_comments_on_a_missing_issue_are_404(reporter, client_for):
    client = client_for(reporter)
    assert client.get("/api/v1/issues/NOSUCH-1/comments").status_code == 404
    response = client.post("/api/v1/issues/NOSUCH-1/comments", {"body": "x"}, format="json")
    assert response.status_code == 404
    assert not Comment.objects.exists()


def test_comments_appear_in_the_issue_events(issue, reporter, client_for):
    client = client_for(reporter)
    ids = [
        client.post(comments_url(issue), {"body": text}, format="json").json()["id"]
        for text in ("one", "two")
    ]
    events = client.get(f"/api/v1/issues/{issue.key}/events").json()["results"]
    assert [(e["kind"], e["comment"], e["actor"]["username"]) for e in events] == [
        ("commented", ids[0], reporter.username),
        ("commented", ids[1], reporter.username),
    ]


def test_deleting_the_issue_deletes_its_comments(project, issue, member_of, client_for):
    CommentFactory(issue=issue)
    response = client_for(member_of(project, "maintainer")).delete(f"/api/v1/issues/{issue.key}")
    assert response.status_code == 204
    assert not Comment.objects.exists()


# Authentication (blocklist without Redis, user), the issue and its labels, the
# caller's role, the count and the page.
COMMENT_LIST_QUERIES = 7


@pytest.mark.parametrize("page_size", [1, 100])
def test_list_query_count_is_constant(issue, client_for, django_assert_max_num_queries, page_size):
    for _ in range(15):
        CommentFactory(issue=issue, author=UserFactory())
    client = client_for(issue.project.created_by)
    with django_assert_max_num_queries(COMMENT_LIST_QUERIES):
        response = client.get(comments_url(issue), {"page_size": page_size})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == min(page_size, 15)
    assert len({c["author"]["username"] for c in results}) == len(results)
