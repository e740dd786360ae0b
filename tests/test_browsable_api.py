"""The browsable API: a developer logs in with a session and works through HTML forms."""

import re

import pytest

from issues.models import Issue
from tests.factories import DEFAULT_PASSWORD, IssueFactory, LabelFactory

pytestmark = pytest.mark.django_db


def form_fields(html: str) -> set[str]:
    """The inputs of the page's HTML POST form (not the filter form or the raw-data form)."""
    form = html.split('id="post-object-form"', 1)[1].split('id="post-generic-content-form"')[0]
    return set(re.findall(r'name="([a-z_]+)"', form)) - {"csrfmiddlewaretoken"}


@pytest.fixture
def browser(client, project):
    owner = project.created_by
    assert client.login(username=owner.username, password=DEFAULT_PASSWORD)
    return client


def test_root_links_every_resource(browser):
    body = browser.get("/api/v1/", HTTP_ACCEPT="application/json").json()
    assert {"projects", "issues", "me", "login", "docs", "schema"} <= set(body)
    assert body["projects"].endswith("/api/v1/projects")


def test_issue_form_offers_only_client_fields(browser, project):
    page = browser.get(f"/api/v1/projects/{project.key}/issues", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    fields = form_fields(page.content.decode())
    assert {"title", "description", "type", "priority", "assignee", "due_date"} <= fields
    assert not fields & {"status", "number", "reporter", "resolution", "project", "key"}


def test_session_user_creates_and_moves_an_issue_with_csrf(project, client):
    from django.test import Client

    owner = project.created_by
    strict = Client(enforce_csrf_checks=True)
    strict.login(username=owner.username, password=DEFAULT_PASSWORD)
    url = f"/api/v1/projects/{project.key}/issues"

    refused = strict.post(url, {"title": "No token"})
    assert refused.status_code == 403
    assert not Issue.objects.exists()

    page = strict.get(url, HTTP_ACCEPT="text/html")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    created = strict.post(url, {"title": "From the form", "csrfmiddlewaretoken": token})
    assert created.status_code == 201, created.content
    issue = Issue.objects.get()
    assert (issue.title, issue.reporter) == ("From the form", owner)

    moved = strict.post(
        f"/api/v1/issues/{issue.key}/status",
        {"status": "closed", "resolution": "wont_fix", "csrfmiddlewaretoken": token},
    )
    assert moved.status_code == 200, moved.content
    issue.refresh_from_db()
    assert (issue.status, issue.resolution) == ("closed", "wont_fix")


@pytest.mark.parametrize("role", ["owner", "maintainer", "developer", "reporter", "viewer"])
def test_an_issue_page_opens_for_every_role(client, project, member_of, role):
    """Its PATCH form is filled from the issue, labels included (a 500 for editors before)."""
    user = project.created_by if role == "owner" else member_of(project, role)
    issue = IssueFactory(project=project, reporter=user)
    issue.labels.add(LabelFactory(project=project, name="frontend"))
    assert client.login(username=user.username, password=DEFAULT_PASSWORD)

    page = client.get(f"/api/v1/issues/{issue.key}", HTTP_ACCEPT="text/html")

    assert page.status_code == 200
    html = page.content.decode()
    assert issue.title in html
    assert "frontend" in html


def test_a_filtered_lists_create_form_posts_without_the_filters(browser, project):
    """POST takes no list filters (400); the form keeps only `format`."""
    url = f"/api/v1/projects/{project.key}/issues"
    page = browser.get(f"{url}?status=open&format=api").content.decode()

    assert f'<form action="{url}?format=api" method="POST"' in page
    assert "?status=open&amp;format=api" in page  # the page still shows what it lists
    created = browser.post(f"{url}?format=api", {"title": "From a filtered list"})
    assert created.status_code == 201, created.content
    assert Issue.objects.get().title == "From a filtered list"


def test_descriptions_are_rendered_markdown(browser, project):
    page = browser.get("/api/v1/projects", HTTP_ACCEPT="text/html").content.decode()
    description = page.split('<div class="pull-left">', 1)[1].split("</div>", 1)[0]

    assert "<code>?archived=true</code>" in description
    assert "`" not in description
