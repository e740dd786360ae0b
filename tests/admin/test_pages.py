"""Every model in the admin: its list, change and add pages render for a superuser, and
its search finds rows."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts.models import PersonalAccessToken, RevokedAccessToken, TokenEvent, TokenFamily
from accounts.services import auth_logout, pat_create, token_pair_for_user
from attachments.models import Attachment
from attachments.services import attachment_upload
from events.models import Event
from issues.models import Issue, IssueEvent
from issues.services import issue_comment, issue_create, label_create
from notifications import consumer, sending
from notifications.models import Email, NotificationSettings
from notifications.services import settings_update
from projects.services import project_create
from tests.factories import UserFactory
from transfers.models import Export, Import
from transfers.services import export_create
from webhooks.models import Delivery, Webhook
from webhooks.services import event_relay, webhook_create

pytestmark = pytest.mark.django_db


MODELS = list(admin.site._registry)
# Records of what happened: shown, never added by hand; and credentials the API makes,
# since only its answer may show their secret once.
READ_ONLY = {
    TokenFamily,
    RevokedAccessToken,
    IssueEvent,
    TokenEvent,
    Event,
    Delivery,
    Webhook,
    PersonalAccessToken,
    Export,
    Import,
    Attachment,
    # Notifications: a person's settings are theirs to change; mail is made by the worker.
    NotificationSettings,
    Email,
}


def label(model) -> str:
    return model._meta.label


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def everything(site_admin, member_of):
    """A row of every model the admin shows, each made the way the product makes it."""
    owner = UserFactory(username="olivia")
    project = project_create(creator=owner, key="OPS", name="Operations")
    webhook_create(project=project, creator=owner, url="https://8.8.8.8/hook")
    developer = member_of(project, "developer")
    bug = label_create(project=project, name="bug")
    issue = issue_create(
        project=project,
        reporter=owner,
        title="Pager goes off at night",
        assignee=developer,
        labels=[bug],
    )
    issue_comment(issue=issue, author=owner, body="Seen again on Sunday.")
    attachment_upload(issue=issue, uploader=owner, filename="pager.log", chunks=[b"beep"])
    pair = token_pair_for_user(user=owner)
    auth_logout(user=owner, raw_refresh=str(pair.refresh), access_token=pair.access)
    pat_create(user=owner, name="ci", scopes=["read"])
    # The deliveries of the last change, as a worker's relay makes them.
    event_relay(event_id=Event.objects.order_by("pk").last().pk)
    Group.objects.create(name="operators")
    export_create(project=project, requested_by=owner, format="csv", filters={})
    Import.objects.create(project=project, requested_by=owner, format="csv", status="done")
    # A person's mail settings, and a mail as the worker and the beat make it.
    settings_update(user=developer, email={"commented": "daily", "assigned": "immediately"})
    consumer.events_consume()
    sending.batches_close(now=timezone.now() + timedelta(hours=1))


def test_every_model_is_in_the_admin():
    # A new model must be added to the admin (and so to the tests below).
    assert {label(m) for m in MODELS} >= {
        "accounts.User",
        "accounts.TokenFamily",
        "accounts.RevokedAccessToken",
        "projects.Project",
        "projects.Membership",
        "issues.Issue",
        "issues.Label",
        "issues.IssueEvent",
        "comments.Comment",
    }


@pytest.mark.parametrize("model", MODELS, ids=label)
def test_list_change_and_add_pages_render(admin_client, everything, model):
    obj = model._default_manager.order_by("pk").last()

    changelist = admin_client.get(url(model, "changelist"))
    change = admin_client.get(url(model, "change", obj.pk))
    add = admin_client.get(url(model, "add"))

    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count == model._default_manager.count()
    assert change.status_code == 200
    assert change.context["original"] == obj
    assert add.status_code == (403 if model in READ_ONLY else 200)


def _value(obj, lookup: str) -> str:
    """The value of a search field's lookup (`=issue__number`) on `obj`."""
    for name in lookup.lstrip("=^@").split("__"):
        obj = getattr(obj, name)
    return str(obj)


@pytest.mark.parametrize(
    "model", [m for m in MODELS if admin.site._registry[m].search_fields], ids=label
)
def test_search_finds_the_row_and_nothing_else(admin_client, everything, model):
    obj = model._default_manager.order_by("pk").last()
    term = _value(obj, admin.site._registry[model].search_fields[0])

    found = admin_client.get(url(model, "changelist"), {"q": term})
    missed = admin_client.get(url(model, "changelist"), {"q": "no-such-thing-anywhere"})

    assert found.status_code == missed.status_code == 200
    assert obj in found.context["cl"].result_list
    assert missed.context["cl"].result_count == 0


def test_issues_are_found_by_their_key(admin_client, everything):
    issue = Issue.objects.get()

    response = admin_client.get(url(Issue, "changelist"), {"q": "ops-1"})

    assert list(response.context["cl"].result_list) == [issue]
