import pytest


@pytest.fixture
def owner(project):
    """The owner of the `project` fixture (a private project)."""
    return project.created_by


@pytest.fixture
def owner_client(client_for, owner):
    return client_for(owner)
