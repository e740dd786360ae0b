import pytest

from tests.factories import IssueFactory


@pytest.fixture(autouse=True)
def _attachments_storage(settings, tmp_path):
    """Attachments go to a fresh folder per test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "attachments")},
        },
    }
    return tmp_path / "attachments"


@pytest.fixture
def issue(project):
    return IssueFactory(project=project)
