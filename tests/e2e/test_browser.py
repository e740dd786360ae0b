"""What operators and developers do in a browser: the admin, Swagger UI, the browsable API."""

import pytest
from django.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from issues.models import Issue
from projects.models import Role
from tests.factories import (
    DEFAULT_PASSWORD,
    IssueFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT = 20  # seconds; pages load their scripts from the live server


def wait_for(browser, css: str, text: str | None = None):
    """The first element matching `css` (that contains `text`), once it is visible."""
    condition = (
        EC.visibility_of_element_located((By.CSS_SELECTOR, css))
        if text is None
        else EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text)
    )
    found = WebDriverWait(browser, TIMEOUT).until(condition)
    return browser.find_element(By.CSS_SELECTOR, css) if found is True else found


def sign_in(browser, url: str, user) -> None:
    """Fill in and submit a Django login form (the admin's or the browsable API's)."""
    browser.get(url)
    wait_for(browser, "input[name=username]").send_keys(user.username)
    browser.find_element(By.CSS_SELECTOR, "input[name=password]").send_keys(DEFAULT_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form [type=submit]").click()


@pytest.fixture
def project():
    owner = UserFactory()
    project = ProjectFactory(created_by=owner, visibility="private")
    MembershipFactory(project=project, user=owner, role=Role.OWNER)
    return project


def test_an_operator_moves_an_issue_with_an_admin_action(browser, live_server, project):
    operator = UserFactory(role="admin", is_staff=True, is_superuser=True)
    developer = UserFactory()
    MembershipFactory(project=project, user=developer, role=Role.DEVELOPER)
    issue = IssueFactory(project=project, assignee=developer, title="Pager goes off at night")

    sign_in(browser, f"{live_server.url}/admin/login/?next=/admin/issues/issue/", operator)
    wait_for(browser, "#result_list")
    row = f"input[name=_selected_action][value='{issue.pk}']"
    browser.find_element(By.CSS_SELECTOR, row).click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("move_to_in_progress")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()

    wait_for(browser, ".messagelist .success", "Moved 1 issue(s) to in_progress.")
    issue.refresh_from_db()
    assert issue.status == "in_progress"
    event = issue.events.get()
    assert (event.actor, event.from_status, event.to_status) == (operator, "open", "in_progress")


def test_a_developer_calls_the_api_from_swagger_ui_with_a_bearer_token(browser, live_server):
    user = UserFactory(username="swagger-sam")
    login = Client().post(
        "/api/v1/auth/login",
        {"username": user.username, "password": DEFAULT_PASSWORD},
        content_type="application/json",
    )
    token = login.json()["access_token"]

    browser.get(f"{live_server.url}/api/v1/docs/")
    wait_for(browser, ".swagger-ui .auth-wrapper .authorize").click()
    wait_for(browser, ".modal-ux .auth-container")
    # The bearer scheme's box, not the session cookie's.
    jwt = browser.find_element(
        By.XPATH, "//div[contains(@class,'auth-container')][.//h4[contains(., 'jwtAuth')]]"
    )
    jwt.find_element(By.CSS_SELECTOR, "input[type=text]").send_keys(token)
    jwt.find_element(By.CSS_SELECTOR, "button.authorize").click()
    wait_for(browser, ".modal-ux .auth-container .btn-done").click()

    operation = "#operations-me-me_get"
    wait_for(browser, f"{operation} .opblock-summary").click()
    # Try-it-out is on by default (tryItOutEnabled); the button then offers "Cancel".
    try_out = wait_for(browser, f"{operation} .try-out__btn")
    if try_out.text.strip() == "Try it out":
        try_out.click()
    wait_for(browser, f"{operation} .execute").click()

    response = f"{operation} .live-responses-table tr.response"
    wait_for(browser, f"{response} .microlight", f'"username": "{user.username}"')
    status = browser.find_element(By.CSS_SELECTOR, f"{response} .response-col_status")
    assert status.text.strip() == "200"


def test_a_developer_creates_an_issue_with_the_browsable_apis_form(browser, live_server, project):
    reporter = UserFactory()
    MembershipFactory(project=project, user=reporter, role=Role.REPORTER)
    issues = f"/api/v1/projects/{project.key}/issues"

    sign_in(browser, f"{live_server.url}/api/v1/session/login/?next={issues}", reporter)
    form = wait_for(browser, "#post-object-form")
    form.find_element(By.NAME, "title").send_keys("Filed from the browsable API")
    form.find_element(By.NAME, "description").send_keys("Typed into the HTML form.")
    Select(form.find_element(By.NAME, "type")).select_by_value("bug")
    form.find_element(By.XPATH, ".//button[normalize-space()='POST']").click()

    wait_for(browser, ".response-info", "HTTP 201 Created")
    issue = Issue.objects.get(title="Filed from the browsable API")
    assert (issue.project, issue.reporter, issue.type) == (project, reporter, "bug")
    assert (issue.description, issue.status) == ("Typed into the HTML form.", "open")
