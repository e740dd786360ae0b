"""Idempotency-Key on issue creation: a retry replays the first response."""

import pytest

from issues.models import Issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def create(project, client_for, django_capture_on_commit_callbacks):
    """POST an issue with a key, running the commit hooks that store the record."""
    client = client_for(project.created_by)

    def post(url, body, key):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)

    return post


@pytest.mark.parametrize("where", ["project", "body"])
def test_a_retried_issue_creation_replays_the_first_response(project, create, where):
    if where == "project":
        url, body = f"/api/v1/projects/{project.key}/issues", {"title": "Once"}
    else:
        url, body = "/api/v1/issues", {"project": project.key, "title": "Once"}

    first = create(url, body, "retry-1")
    retry = create(url, body, "retry-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in first
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert list(Issue.objects.filter(project=project).values_list("title", flat=True)) == ["Once"]


def test_an_issue_key_reused_with_another_body_is_a_422(project, create):
    url = f"/api/v1/projects/{project.key}/issues"

    first = create(url, {"title": "One"}, "reused")
    other = create(url, {"title": "Another"}, "reused")

    assert first.status_code == 201
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Issue.objects.filter(project=project).count() == 1
