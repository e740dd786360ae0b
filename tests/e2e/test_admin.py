"""An operator in the admin, in a browser: workflow steps that need a resolution or a
comment, and the issue's label picker. Any 5xx answer fails the test (the `browser`
fixture saves a screenshot and the page of a failed test)."""

import json

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from issues.models import IssueEvent
from projects.models import Role
from tests.e2e.test_browser import sign_in, wait_for
from tests.factories import (
    IssueFactory,
    LabelFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def server_errors(browser) -> list[str]:
    """The 5xx answers the browser got since this was last called (Chromium's network log)."""
    errors = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.responseReceived":
            response = message["params"]["response"]
            if response["status"] >= 500:
                errors.append(f"{response['status']} {response['url']}")
    return errors


@pytest.fixture
def operator():
    return UserFactory(role="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def project():
    owner = UserFactory()
    project = ProjectFactory(created_by=owner, key="OPS")
    MembershipFactory(project=project, user=owner, role=Role.OWNER)
    return project


def transitions(issue) -> list[tuple]:
    return list(
        issue.events.filter(kind=IssueEvent.Kind.TRANSITIONED).values_list(
            "actor__username", "from_status", "to_status", "resolution", "comment__body"
        )
    )


def test_an_operator_closes_an_issue_from_the_list_giving_a_resolution(
    browser, live_server, operator, project
):
    issue = IssueFactory(project=project, title="Pager goes off at night")
    server_errors(browser)  # only this test's answers count

    sign_in(browser, f"{live_server.url}/admin/login/?next=/admin/issues/issue/", operator)
    wait_for(browser, "#result_list")
    browser.find_element(
        By.CSS_SELECTOR, f"input[name=_selected_action][value='{issue.pk}']"
    ).click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("move_to_closed")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()

    # The intermediate page asks for the resolution; sent without one, it asks again.
    wait_for(browser, "#transition-issues", "OPS-1: Pager goes off at night (open)")
    browser.find_element(By.CSS_SELECTOR, "#transition_form [type=submit]").click()
    wait_for(browser, ".field-resolution .errorlist", "Choose a resolution.")
    issue.refresh_from_db()
    assert issue.status == "open"

    Select(browser.find_element(By.NAME, "resolution")).select_by_value("wont_fix")
    browser.find_element(By.CSS_SELECTOR, "#transition_form [type=submit]").click()

    wait_for(browser, ".messagelist .success", "Moved 1 issue(s) to closed.")
    assert server_errors(browser) == []
    issue.refresh_from_db()
    assert (issue.status, issue.resolution) == ("closed", "wont_fix")
    assert transitions(issue) == [(operator.username, "open", "closed", "wont_fix", None)]


def test_an_operator_reopens_an_issue_from_its_page_with_a_comment(
    browser, live_server, operator, project
):
    issue = IssueFactory(project=project, status="closed", resolution="fixed")
    server_errors(browser)

    change = f"/admin/issues/issue/{issue.pk}/change/"
    sign_in(browser, f"{live_server.url}/admin/login/?next={change}", operator)
    row = wait_for(browser, "#workflow .transition-reopen")
    row.find_element(By.NAME, "comment").send_keys("Seen again on Sunday.")
    row.find_element(By.NAME, "take").click()

    wait_for(browser, ".messagelist .success", "Moved 1 issue(s) to open.")
    assert browser.current_url == live_server.url + change
    # The page now offers the ways out of `open`.
    wait_for(browser, "#workflow .transition-start", "The issue must have an assignee.")
    assert server_errors(browser) == []
    issue.refresh_from_db()
    assert (issue.status, issue.resolution) == ("open", "")
    assert transitions(issue) == [
        (operator.username, "closed", "open", "", "Seen again on Sunday.")
    ]


def test_the_label_picker_offers_the_issues_project_labels_only(
    browser, live_server, operator, project
):
    bug = LabelFactory(project=project, name="bug")
    LabelFactory(project=project, name="docs")
    LabelFactory(project=ProjectFactory(key="ZED"), name="bug")
    issue = IssueFactory(project=project)
    server_errors(browser)

    change = f"/admin/issues/issue/{issue.pk}/change/"
    sign_in(browser, f"{live_server.url}/admin/login/?next={change}", operator)
    available = wait_for(browser, "#id_labels_from")
    assert [option.text for option in Select(available).options] == ["bug", "docs"]
    Select(available).select_by_visible_text("bug")
    browser.find_element(By.ID, "id_labels_add").click()
    browser.find_element(By.CSS_SELECTOR, "input[name=_save]").click()

    wait_for(browser, ".messagelist .success", "was changed successfully")
    assert server_errors(browser) == []
    assert list(issue.labels.all()) == [bug]
    event = issue.events.get(kind=IssueEvent.Kind.CHANGED)
    assert (event.actor, event.field, event.new_value) == (operator, "labels", ["bug"])
