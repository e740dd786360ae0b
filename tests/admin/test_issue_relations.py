"""The admin's issue page shows the issue's relations and sub-issues (only those an
operator who is not a site admin could see through the API), and relates it to another
issue through the service, with its rules."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client

from issues.models import IssueEvent, IssueRelation
from projects.models import Role
from tests.admin.test_stale_edits import ChangeForm
from tests.factories import IssueFactory, MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def page(client, issue):
    response = client.get(f"/admin/issues/issue/{issue.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def relate(client, issue, type, key):
    url = f"/admin/issues/issue/{issue.pk}/change/"
    data = ChangeForm(client.get(url).content.decode()).data
    data |= {"relate_type": [type], "relate_to": [key]}
    return client.post(url, data)


@pytest.fixture
def issues(project):
    issue = IssueFactory(project=project, title="The release")
    child = IssueFactory(project=project, title="A sub-task")
    blocker = IssueFactory(project=project, title="The blocker")
    secret = IssueFactory(project=ProjectFactory(visibility="private"), title="Secret plan")
    IssueRelation.objects.create(source=child, target=issue, type="parent")
    IssueRelation.objects.create(source=blocker, target=issue, type="blocks")
    IssueRelation.objects.create(source=secret, target=issue, type="blocks")
    return issue, child, blocker, secret


def test_the_issue_page_shows_relations_and_sub_issues(admin_client, issues):
    issue, child, blocker, _ = issues
    html = page(admin_client, issue)
    assert "Sub-issues" in html and f"{child.key}</a>: A sub-task" in html
    assert f"{blocker.key}</a>: The blocker" in html
    assert "blocked_by" in html
    assert "Secret plan" in html  # a site admin sees every project


def test_staff_who_are_not_site_admins_see_only_what_they_could_see(project, issues):
    issue, child, _, secret = issues
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_issue"))
    MembershipFactory(project=project, user=staff, role=Role.VIEWER)
    client = Client()
    client.force_login(staff)

    html = page(client, issue)

    assert child.key in html
    assert "Secret plan" not in html and secret.key not in html


def test_relating_through_the_form_goes_through_the_service(admin_client, site_admin, issues):
    issue = issues[0]
    other = IssueFactory(project=issue.project)

    response = relate(admin_client, issue, "blocks", other.key)

    assert response.status_code == 302
    assert IssueRelation.objects.filter(source=issue, target=other, type="blocks").exists()
    entry = IssueEvent.objects.get(issue=other, kind="related")
    assert (entry.field, entry.new_value, entry.actor) == ("blocked_by", issue.key, site_admin)


def test_a_cycle_is_refused_with_a_message_and_nothing_saved(admin_client, issues):
    issue, child, _, _ = issues
    before = IssueRelation.objects.count()

    response = relate(admin_client, issue, "parent", child.key)

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "This parent relation would make a cycle."
    ]
    assert IssueRelation.objects.count() == before
