"""Two operators editing one row in the admin cannot overwrite each other: the change form
carries the version it was rendered from, the service compares it with the row it locks,
and a stale save is refused with a message and changes nothing."""

from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages

from comments.models import Comment
from comments.services import comment_update
from issues.models import Issue, Label
from issues.services import issue_transition, issue_update, label_update
from projects.models import Membership, Project, Role
from projects.services import membership_change_role, project_update
from tests.factories import CommentFactory, IssueFactory, LabelFactory, UserFactory
from webhooks.models import Webhook
from webhooks.services import webhook_create

pytestmark = pytest.mark.django_db

STALE = (
    "Someone else changed this since you opened it, so nothing was saved: "
    "here it is as it is now; make your change again."
)


class ChangeForm(HTMLParser):
    """What a browser posts for the admin's change form: its fields with their values."""

    def __init__(self, html: str):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._in_form = False
        self._select = self._textarea = None
        self.feed(html)

    def _add(self, name, value):
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id", "").endswith("_form"):
            self._in_form = True
        if not self._in_form or ("name" not in attrs and tag != "option"):
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file") or (
                kind in ("checkbox", "radio") and "checked" not in attrs
            ):
                return
            self._add(attrs["name"], attrs.get("value") or ("on" if kind == "checkbox" else ""))
        elif tag == "select":
            self._select = attrs["name"]
        elif tag == "option" and self._select and "selected" in attrs:
            self._add(self._select, attrs.get("value", ""))
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self._add(self._textarea, "")

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            if self._textarea and self.data[self._textarea][-1].startswith("\n"):
                self.data[self._textarea][-1] = self.data[self._textarea][-1][1:]
            self._textarea = None


@dataclass
class Case:
    url: str  # the admin's change page for the row
    row: object
    field: str  # a field the operator changes on the form
    value: str
    meanwhile: object  # another operator's change, through the service: row -> None
    state: object  # what must not change: row -> value


def _issue(project, operator):
    issue = IssueFactory(project=project, title="Original")
    return Case(
        f"/admin/issues/issue/{issue.pk}/change/",
        issue,
        "title",
        "Mine",
        lambda i: issue_update(issue=i, actor=operator, description="Theirs."),
        lambda i: Issue.objects.filter(pk=i.pk).values_list("title", "description").get(),
    )


def _issue_moved_meanwhile(project, operator):
    developer = UserFactory()
    Membership.objects.create(project=project, user=developer, role=Role.DEVELOPER)
    issue = IssueFactory(project=project, title="Original", assignee=developer)
    return Case(
        f"/admin/issues/issue/{issue.pk}/change/",
        issue,
        "title",
        "Mine",
        lambda i: issue_transition(issue=i, user=developer, status="in_progress"),
        lambda i: Issue.objects.filter(pk=i.pk).values_list("title", "status").get(),
    )


def _label(project, operator):
    label = LabelFactory(project=project, name="bug")
    return Case(
        f"/admin/issues/label/{label.pk}/change/",
        label,
        "name",
        "mine",
        lambda label: label_update(label=label, actor=operator, description="Theirs."),
        lambda label: Label.objects.filter(pk=label.pk).values_list("name", "description").get(),
    )


def _project(project, operator):
    return Case(
        f"/admin/projects/project/{project.pk}/change/",
        project,
        "name",
        "Mine",
        lambda p: project_update(project=p, actor=operator, description="Theirs."),
        lambda p: Project.objects.filter(pk=p.pk).values_list("name", "description").get(),
    )


def _membership(project, operator):
    membership = Membership.objects.create(project=project, user=UserFactory(), role=Role.VIEWER)
    return Case(
        f"/admin/projects/membership/{membership.pk}/change/",
        membership,
        "role",
        str(int(Role.MAINTAINER)),
        lambda m: membership_change_role(membership=m, role=Role.DEVELOPER, actor=operator),
        lambda m: Membership.objects.get(pk=m.pk).role,
    )


def _comment(project, operator):
    comment = CommentFactory(issue=IssueFactory(project=project), body="Original")
    return Case(
        f"/admin/comments/comment/{comment.pk}/change/",
        comment,
        "body",
        "Mine",
        lambda c: comment_update(comment=c, actor=operator, body="Theirs"),
        lambda c: Comment.objects.get(pk=c.pk).body,
    )


def _webhook(project, operator):
    webhook = webhook_create(project=project, creator=operator, url="https://8.8.8.8/hook")
    # Deliveries turn a failing webhook off without touching its updated_at.
    disable = {"active": False, "consecutive_failures": 50, "disabled_reason": "Failing."}
    return Case(
        f"/admin/webhooks/webhook/{webhook.pk}/change/",
        webhook,
        "description",
        "Mine",
        lambda w: Webhook.objects.filter(pk=w.pk).update(**disable),
        lambda w: Webhook.objects.filter(pk=w.pk).values_list("description", "active").get(),
    )


CASES = {
    "issue": _issue,
    "issue moved meanwhile": _issue_moved_meanwhile,
    "label": _label,
    "project": _project,
    "membership": _membership,
    "comment": _comment,
    "webhook": _webhook,
}


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("kind", CASES)
def test_a_save_from_a_page_someone_changed_since_is_refused(
    kind, admin_client, project, site_admin
):
    case = CASES[kind](project, site_admin)
    page = admin_client.get(case.url)
    assert page.status_code == 200
    form = ChangeForm(page.content.decode()).data
    assert form["version"] != [""], "the form carries the version it shows"
    case.meanwhile(case.row)  # the other operator saves first
    before = case.state(case.row)

    response = admin_client.post(case.url, {**form, case.field: case.value})

    assert response.status_code == 302  # back to the page, showing the row as it is now
    assert response["Location"] == case.url
    assert _messages(response) == [STALE]
    assert case.state(case.row) == before


@pytest.mark.parametrize("kind", CASES)
def test_a_save_from_a_current_page_goes_through(kind, admin_client, project, site_admin):
    case = CASES[kind](project, site_admin)
    form = ChangeForm(admin_client.get(case.url).content.decode()).data
    before = case.state(case.row)

    response = admin_client.post(case.url, {**form, case.field: case.value})

    assert response.status_code == 302, _messages(response)
    assert STALE not in _messages(response)
    assert case.state(case.row) != before


def test_a_transition_from_a_page_someone_changed_since_is_refused(admin_client, project):
    assignee = UserFactory()
    Membership.objects.create(project=project, user=assignee, role=Role.DEVELOPER)
    issue = IssueFactory(project=project, assignee=assignee)
    url = f"/admin/issues/issue/{issue.pk}/change/"
    page = admin_client.get(url).content.decode()
    version = page.split('name="version" value="')[1].split('"')[0]
    issue_update(issue=issue, actor=assignee, title="Renamed meanwhile")

    response = admin_client.post(
        f"/admin/issues/issue/{issue.pk}/transition/",
        {"status": "in_progress", "version": version},
    )

    assert response.status_code == 302
    assert any(STALE in message for message in _messages(response))
    assert Issue.objects.get(pk=issue.pk).status == "open"
    page = admin_client.get(url).content.decode()
    current = page.split('name="version" value="')[1].split('"')[0]
    moved = admin_client.post(
        f"/admin/issues/issue/{issue.pk}/transition/",
        {"status": "in_progress", "version": current},
    )
    assert moved.status_code == 302
    assert Issue.objects.get(pk=issue.pk).status == "in_progress"
