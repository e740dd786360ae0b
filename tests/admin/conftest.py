import pytest
from django.test import Client


@pytest.fixture
def admin_client(site_admin):
    """The Django admin, signed in as a superuser (site role admin)."""
    client = Client()
    client.force_login(site_admin)
    return client
