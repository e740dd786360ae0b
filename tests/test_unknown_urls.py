"""Every URL under /api/ answers JSON: one that names nothing is a problem+json 404, with
DEBUG on too (Django's HTML 404 page answered there), and one that differs from a real one
by a trailing slash says which URL to use. Nothing is redirected but the docs pages."""

import pytest

from issues.models import Issue
from projects.models import Project
from tests.factories import IssueFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


@pytest.fixture
def client(project, client_for):
    return client_for(project.created_by)


def assert_not_found(response, detail: str = "Not found.") -> None:
    assert response.status_code == 404, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["code"], body["status"], body["detail"]) == ("not_found", 404, detail)
    assert body["instance"] == response.wsgi_request.path


@pytest.mark.parametrize("url", ["/api/v1/no-such-thing", "/api/v2/issues", "/api/", "/api"])
def test_an_unknown_url_under_api_is_a_json_404(debug, client, url):
    assert_not_found(client.get(url))
    assert_not_found(client.post(url, {"title": "x"}, format="json"))


def test_a_list_url_with_a_trailing_slash_names_the_url(debug, client, project):
    assert_not_found(client.get("/api/v1/issues/"), "Not found. Did you mean /api/v1/issues?")
    posted = client.post("/api/v1/issues/", {"project": project.key, "title": "x"}, format="json")
    assert_not_found(posted, "Not found. Did you mean /api/v1/issues?")
    assert not Issue.objects.exists()


def test_a_detail_url_with_a_trailing_slash_names_the_url(debug, client, project):
    issue = IssueFactory(project=project)
    hint = f"Not found. Did you mean /api/v1/issues/{issue.key}?"
    assert_not_found(client.get(f"/api/v1/issues/{issue.key}/"), hint)
    assert_not_found(client.get(f"/api/v1/issues/{issue.key}//"), hint)
    deleted = client.delete(f"/api/v1/projects/{project.key}/")
    assert_not_found(deleted, f"Not found. Did you mean /api/v1/projects/{project.key}?")
    assert Project.objects.filter(pk=project.pk).exists()
    assert Issue.objects.filter(pk=issue.pk).exists()


def test_a_docs_url_without_its_slash_still_leads_to_the_docs(debug, client):
    redirected = client.get("/api/v1/docs")
    assert (redirected.status_code, redirected["Location"]) == (301, "/api/v1/docs/")
    assert client.get("/api/v1/docs/").status_code == 200
    assert client.get("/api/v1/schema/", {"format": "json"}).status_code == 200


def test_a_view_answers_its_own_404(debug, client):
    """Only URLs that name no view are answered here: the browsable API's page stays."""
    assert_not_found(client.get("/api/v1/issues/NOPE-1"))
    page = client.get("/api/v1/issues/NOPE-1", HTTP_ACCEPT="text/html")
    assert (page.status_code, page["Content-Type"]) == (404, "text/html; charset=utf-8")


def test_a_method_not_allowed_is_a_json_405(debug, client, project):
    response = client.put(f"/api/v1/projects/{project.key}", {"name": "x"}, format="json")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "method_not_allowed"
    assert Project.objects.get(pk=project.pk).name == project.name


def test_urls_outside_the_api_keep_djangos_404(settings, client):
    settings.DEBUG = True
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
