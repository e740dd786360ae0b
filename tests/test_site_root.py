"""`/` tells a newcomer where to go: JSON links for clients, a link page for browsers."""

import pytest

pytestmark = pytest.mark.django_db

EXPECTED = {
    "api": "http://testserver/api/v1/",
    "docs": "http://testserver/api/v1/docs/",
    "redoc": "http://testserver/api/v1/redoc/",
    "schema": "http://testserver/api/v1/schema/",
    "admin": "http://testserver/admin/",
}


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_clients_get_a_json_index(client, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    response = client.get("/", **headers)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == EXPECTED


def test_browsers_get_a_page_of_links(client):
    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

    response = client.get("/", HTTP_ACCEPT=browser_accept)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    for url in EXPECTED.values():
        assert f'href="{url}"' in page


def test_every_link_leads_somewhere(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-12345!")
    client.force_login(admin)

    for url in client.get("/").json().values():
        assert client.get(url.removeprefix("http://testserver")).status_code == 200, url


@pytest.mark.parametrize("debug", [True, False])
def test_never_a_debug_404(client, settings, debug):
    settings.DEBUG = debug

    response = client.get("/")

    assert response.status_code == 200
    assert b"Page not found" not in response.content


def test_writes_are_not_allowed(client):
    response = client.post("/")

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
