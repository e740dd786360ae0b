import pytest

from tests.factories import IssueFactory


@pytest.fixture(autouse=True)
def _attachments_storage(attachments_folder):
    return attachments_folder


@pytest.fixture
def issue(project):
    return IssueFactory(project=project)
