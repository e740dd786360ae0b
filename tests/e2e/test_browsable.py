"""The browsable API in a browser: every resource's pages open for a viewer and an editor,
lists link to their rows, and the HTML forms change what they say they change."""

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from comments.models import Comment
from issues.models import Issue, Label
from projects.models import Membership, Project, Role
from tests.factories import (
    DEFAULT_PASSWORD,
    CommentFactory,
    IssueFactory,
    LabelFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT = 20  # seconds
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture
def world():
    """A private project with a viewer and an editor (a maintainer), a label, an issue with
    that label assigned to the editor, a comment on it and an event in its history."""
    owner, viewer, editor = UserFactory(), UserFactory(), UserFactory()
    project = ProjectFactory(created_by=owner, visibility="private", key="WEB")
    for user, role in ((owner, Role.OWNER), (viewer, Role.VIEWER), (editor, Role.MAINTAINER)):
        MembershipFactory(project=project, user=user, role=role)
    label = LabelFactory(project=project, name="frontend")
    issue = IssueFactory(
        project=project, reporter=owner, assignee=editor, title="Pager goes off at night"
    )
    issue.labels.add(label)
    comment = CommentFactory(issue=issue, author=editor, body="Seen it twice this week.")
    issue.events.create(kind="commented", actor=editor, comment=comment)
    return {
        "project": project,
        "viewer": viewer,
        "editor": editor,
        "label": label,
        "issue": issue,
        "comment": comment,
    }


def pages(world) -> dict[str, tuple[str, str]]:
    """Every resource's list and detail page: name -> (path, a text the page must show)."""
    key, issue = world["project"].key, world["issue"]
    viewer, editor = world["viewer"].username, world["editor"].username
    return {
        "projects": ("/api/v1/projects", world["project"].name),
        "project": (f"/api/v1/projects/{key}", world["project"].name),
        "permissions": (f"/api/v1/projects/{key}/permissions/me", '"actions"'),
        "members": (f"/api/v1/projects/{key}/members", editor),
        "member (viewer)": (f"/api/v1/projects/{key}/members/{viewer}", viewer),
        "member (editor)": (f"/api/v1/projects/{key}/members/{editor}", editor),
        "labels": (f"/api/v1/projects/{key}/labels", "frontend"),
        "label": (f"/api/v1/projects/{key}/labels/{world['label'].pk}", "frontend"),
        "issues": ("/api/v1/issues", issue.title),
        "project issues": (f"/api/v1/projects/{key}/issues", issue.title),
        "filtered issues": (f"/api/v1/projects/{key}/issues?status=open", issue.title),
        "issue": (f"/api/v1/issues/{issue.key}", issue.title),
        "issue as api": (f"/api/v1/issues/{issue.key}?format=api", issue.title),
        "transitions": (f"/api/v1/issues/{issue.key}/transitions", '"in_progress"'),
        "events": (f"/api/v1/issues/{issue.key}/events", '"commented"'),
        "comments": (f"/api/v1/issues/{issue.key}/comments", "Seen it twice this week."),
        "comment": (f"/api/v1/comments/{world['comment'].pk}", "Seen it twice this week."),
        "me": ("/api/v1/me", '"username"'),
    }


def sign_in(browser, live_server, user, then: str) -> None:
    """Log in with the browsable API's login form, landing on `then`."""
    browser.get(f"{live_server.url}/api/v1/session/login/?next={quote(then)}")
    wait_for(browser, "input[name=username]").send_keys(user.username)
    browser.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(DEFAULT_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    wait_for(browser, ".response-info")


def wait_for(browser, css: str, text: str | None = None):
    """The first element matching `css` (that contains `text`), once it is visible."""
    condition = (
        EC.visibility_of_element_located((By.CSS_SELECTOR, css))
        if text is None
        else EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text)
    )
    WebDriverWait(browser, TIMEOUT).until(condition)
    return browser.find_element(By.CSS_SELECTOR, css)


def open_page(browser, url: str) -> int:
    """Load `url` and return the HTTP status of the page's document (Chromium's log)."""
    browser.get_log("performance")  # forget earlier pages
    browser.get(url)
    statuses = [
        message["params"]["response"]["status"]
        for message in (
            json.loads(e["message"])["message"] for e in browser.get_log("performance")
        )
        if message["method"] == "Network.responseReceived"
        and message["params"]["type"] == "Document"
    ]
    return statuses[-1]


def screenshot(browser, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name.replace('/', '_').replace(' ', '_')}.png"
    browser.save_screenshot(str(path))
    return path


def submit(form) -> None:
    form.find_element(By.CSS_SELECTOR, ".form-actions button").click()


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_every_page_opens_with_its_data_and_rendered_description(
    browser, live_server, world, role
):
    """No page is a 5xx (each failing one leaves a screenshot), each shows its resource, and
    descriptions are rendered Markdown: code, never raw backticks."""
    sign_in(browser, live_server, world[role], "/api/v1/")
    failures = []
    for name, (path, expected) in pages(world).items():
        status = open_page(browser, live_server.url + path)
        info = browser.find_elements(By.CSS_SELECTOR, ".response-info")
        description = browser.find_elements(By.CSS_SELECTOR, ".content-main .pull-left")
        problem = None
        if status != 200 or not info:
            problem = f"HTTP {status}"
        elif expected not in info[0].text:
            problem = f"{expected!r} not shown"
        elif not description or "`" in description[0].text:
            problem = "description not rendered"
        if problem:
            failures.append(f"{name} ({path}): {problem}, see {screenshot(browser, name)}")
    assert not failures, "\n".join(failures)

    # The docstrings' `code` became <code> (projects: `?archived=true`).
    open_page(browser, f"{live_server.url}/api/v1/projects")
    code = browser.find_element(By.CSS_SELECTOR, ".content-main .pull-left code")
    assert code.text == "?archived=true"


def test_a_list_links_each_row_to_its_page(browser, live_server, world):
    issue = world["issue"]
    sign_in(browser, live_server, world["viewer"], f"/api/v1/projects/{world['project'].key}")

    # The row's `url` is a link on the page.
    open_page(browser, f"{live_server.url}/api/v1/issues")
    browser.find_element(
        By.CSS_SELECTOR, f".response-info a[href='{live_server.url}/api/v1/issues/{issue.key}']"
    ).click()

    wait_for(browser, ".request-info", f"GET /api/v1/issues/{issue.key}")
    assert "HTTP 200 OK" in wait_for(browser, ".response-info").text
    assert browser.current_url == f"{live_server.url}/api/v1/issues/{issue.key}"


def test_an_editor_files_an_issue_from_a_filtered_list(browser, live_server, world):
    """The create form of `?status=open` posts to the list without its filters (POST takes
    none), and keeps `format`."""
    project, editor = world["project"], world["editor"]
    issues = f"/api/v1/projects/{project.key}/issues?status=open&format=api"
    sign_in(browser, live_server, editor, issues)

    form = wait_for(browser, "#post-object-form form")
    assert form.get_attribute("action").endswith(f"/projects/{project.key}/issues?format=api")
    form.find_element(By.NAME, "title").send_keys("Filed from a filtered list")
    Select(form.find_element(By.NAME, "type")).select_by_value("bug")
    submit(form)

    wait_for(browser, ".response-info", "HTTP 201 Created")
    issue = Issue.objects.get(title="Filed from a filtered list")
    assert (issue.project, issue.reporter, issue.type, issue.status) == (
        project,
        editor,
        "bug",
        "open",
    )
    assert f'"url": "{live_server.url}/api/v1/issues/{issue.key}"' in (
        browser.find_element(By.CSS_SELECTOR, ".response-info").text
    )


def test_an_editor_moves_an_issue_with_the_status_form(browser, live_server, world):
    issue = world["issue"]
    sign_in(browser, live_server, world["editor"], f"/api/v1/issues/{issue.key}")

    # The issue page's Extra Actions lead to the status form (GET there is a 405).
    wait_for(browser, "#extra-actions-menu").click()
    wait_for(browser, ".dropdown-menu a[href$='/status']").click()
    form = wait_for(browser, "#post-object-form form")
    Select(form.find_element(By.NAME, "status")).select_by_value("in_progress")
    form.find_element(By.NAME, "comment").send_keys("On it.")
    submit(form)

    wait_for(browser, ".response-info", "HTTP 200 OK")
    issue.refresh_from_db()
    assert issue.status == "in_progress"
    event = issue.events.latest("created_at")
    assert (event.actor, event.to_status, event.comment.body) == (
        world["editor"],
        "in_progress",
        "On it.",
    )


def test_an_editor_comments_adds_a_member_and_a_label_with_the_forms(browser, live_server, world):
    project, issue, editor = world["project"], world["issue"], world["editor"]
    sign_in(browser, live_server, editor, f"/api/v1/issues/{issue.key}/comments")

    form = wait_for(browser, "#post-object-form form")
    form.find_element(By.NAME, "body").send_keys("Fixed by restarting the pager.")
    submit(form)
    wait_for(browser, ".response-info", "HTTP 201 Created")
    comment = Comment.objects.get(body="Fixed by restarting the pager.")
    assert (comment.issue, comment.author) == (issue, editor)

    newcomer = UserFactory()
    open_page(browser, f"{live_server.url}/api/v1/projects/{project.key}/members")
    form = wait_for(browser, "#post-object-form form")
    form.find_element(By.NAME, "username").send_keys(newcomer.username)
    Select(form.find_element(By.NAME, "role")).select_by_value("developer")
    submit(form)
    wait_for(browser, ".response-info", "HTTP 201 Created")
    membership = Membership.objects.get(project=project, user=newcomer)
    assert membership.role == Role.DEVELOPER

    open_page(browser, f"{live_server.url}/api/v1/projects/{project.key}/labels")
    form = wait_for(browser, "#post-object-form form")
    form.find_element(By.NAME, "name").send_keys("backend")
    form.find_element(By.NAME, "color").clear()
    form.find_element(By.NAME, "color").send_keys("#00aa00")
    submit(form)
    wait_for(browser, ".response-info", "HTTP 201 Created")
    assert Label.objects.get(project=project, name="backend").color == "#00aa00"


def test_a_user_creates_a_project_with_the_form(browser, live_server, world):
    editor = world["editor"]
    sign_in(browser, live_server, editor, "/api/v1/projects")

    form = wait_for(browser, "#post-object-form form")
    form.find_element(By.NAME, "key").send_keys("OPS")
    form.find_element(By.NAME, "name").send_keys("Operations")
    submit(form)

    wait_for(browser, ".response-info", "HTTP 201 Created")
    project = Project.objects.get(key="OPS")
    assert (project.name, project.created_by) == ("Operations", editor)
    assert project.memberships.get().user == editor


def test_a_viewer_sees_no_forms_to_change_what_they_may_not(browser, live_server, world):
    issue = world["issue"]
    sign_in(browser, live_server, world["viewer"], f"/api/v1/issues/{issue.key}/comments")

    assert "HTTP 200 OK" in wait_for(browser, ".response-info").text
    assert not browser.find_elements(By.CSS_SELECTOR, "#post-object-form")
    assert Comment.objects.filter(issue=issue).count() == 1
