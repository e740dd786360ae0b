import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from issues import services as issues
from projects.models import Role
from tests.conftest import storage_in_folder
from tests.factories import LabelFactory, MembershipFactory, UserFactory


@pytest.fixture(autouse=True)
def _transfers_storage(settings, tmp_path):
    """Each test's files in a folder of its own."""
    storage_in_folder(settings, "transfers", tmp_path / "transfers")
    return tmp_path / "transfers"


@pytest.fixture
def jobs(django_capture_on_commit_callbacks):
    """Run what a request queued on commit (Celery runs eagerly in tests): `with jobs():`."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


@pytest.fixture
def rich_project(project, owner, developer):
    """A project with labels, issues in several states, comments and a history."""
    bug, ux = LabelFactory(project=project, name="bug"), LabelFactory(project=project, name="ux")
    reporter = UserFactory(username="rita")
    MembershipFactory(project=project, user=reporter, role=Role.REPORTER)
    first = issues.issue_create(
        project=project,
        reporter=reporter,
        title='Login fails, "sometimes"',
        description="Steps:\n- open\n- click",
        type="bug",
        priority=4,
        labels=[bug, ux],
    )
    issues.issue_update(issue=first, actor=owner, assignee=developer, due_date=None)
    issues.issue_comment(issue=first, author=reporter, body="Still happens on Safari.")
    issues.issue_transition(issue=first, user=developer, status="in_progress")
    issues.issue_comment(issue=first, author=developer, body="=1+1 looks like a formula")
    second = issues.issue_create(
        project=project, reporter=owner, title='=HYPERLINK("http://evil","x")', labels=[bug]
    )
    issues.issue_transition(
        issue=second, user=owner, status="closed", resolution="wont_fix", comment="Not ours."
    )
    issues.issue_create(project=project, reporter=owner, title="Plain task", description="")
    return project


def upload(content, name="issues.jsonl", content_type="application/octet-stream"):
    if isinstance(content, str):
        content = content.encode()
    return SimpleUploadedFile(name, content, content_type=content_type)
