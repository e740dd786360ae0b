"""Projects, memberships, labels and users in the admin go through the services: a project keeps
an owner, archived projects are read-only, refusals are shown, not raised."""

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from accounts.models import User
from issues.models import Label
from projects.models import Membership, Project, Role
from tests.factories import IssueFactory, LabelFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

PROJECTS = "/admin/projects/project/"
MEMBERSHIPS = "/admin/projects/membership/"
LABELS = "/admin/issues/label/"
LAST_OWNER = "A project must keep at least one owner; add another owner first."


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def roles(project) -> dict[str, str]:
    members = project.memberships.select_related("user")
    return {m.user.username: Role(m.role).label for m in members}


def project_form(project, *rows, **changes) -> dict:
    """The project change form with its membership rows: (membership or None, user, role,
    delete)."""
    data = {
        "name": project.name,
        "description": project.description,
        "visibility": project.visibility,
        "memberships-TOTAL_FORMS": str(len(rows)),
        "memberships-INITIAL_FORMS": str(sum(1 for row in rows if row[0] is not None)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        **changes,
    }
    for i, (membership, user, role, delete) in enumerate(rows):
        prefix = f"memberships-{i}-"
        data[prefix + "id"] = membership.pk if membership else ""
        data[prefix + "project"] = project.pk
        data[prefix + "user"] = user.pk
        data[prefix + "role"] = str(int(role))
        if delete:
            data[prefix + "DELETE"] = "on"
    return data


def change(client, project, *rows, **changes):
    return client.post(f"{PROJECTS}{project.pk}/change/", project_form(project, *rows, **changes))


@pytest.fixture
def ownership(project, owner):
    return Membership.objects.get(project=project, user=owner)


@pytest.fixture
def new_member(project, member_of):
    """Add a user with `role` (a name) to the project: the user and the membership."""

    def make(role):
        user = member_of(project, role)
        return user, Membership.objects.get(project=project, user=user)

    return make


# -- projects ---------------------------------------------------------------------------


def test_adding_a_project_makes_its_creator_the_owner(admin_client, user):
    response = admin_client.post(
        f"{PROJECTS}add/",
        {"key": "WEB", "name": "Web app", "visibility": "internal", "created_by": user.pk},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    project = Project.objects.get(key="WEB")
    assert (project.name, project.visibility, project.created_by) == ("Web app", "internal", user)
    assert roles(project) == {user.username: "owner"}


def test_the_operator_is_the_proposed_creator(admin_client, site_admin):
    response = admin_client.get(f"{PROJECTS}add/")

    assert response.context["adminform"].form.initial["created_by"] == site_admin.pk
    assert "memberships-TOTAL_FORMS" not in response.content.decode()


def test_project_edits_are_saved_and_the_key_stays(admin_client, project, owner, ownership):
    old_key = project.key

    response = change(
        admin_client, project, (ownership, owner, Role.OWNER, False), name="Renamed", key="NEW"
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    project.refresh_from_db()
    assert (project.name, project.key) == ("Renamed", old_key)


def test_archive_and_unarchive_actions(admin_client, project):
    archived = admin_client.post(PROJECTS, {"action": "archive", "_selected_action": [project.pk]})
    project.refresh_from_db()
    assert project.is_archived
    assert messages_of(archived) == ["Archived 1 project(s)."]

    admin_client.post(PROJECTS, {"action": "unarchive", "_selected_action": [project.pk]})
    project.refresh_from_db()
    assert not project.is_archived


def test_an_archived_project_cannot_be_edited(admin_client, project, owner, ownership):
    Project.objects.filter(pk=project.pk).update(archived_at=timezone.now())

    response = change(admin_client, project, (ownership, owner, Role.OWNER, False), name="x")

    assert response.status_code == 200
    assert "archived and read-only" in response.content.decode()
    project.refresh_from_db()
    assert project.name != "x"


# -- memberships on the project page ----------------------------------------------------


def test_the_inline_cannot_remove_the_last_owner(admin_client, project, owner, ownership):
    response = change(admin_client, project, (ownership, owner, Role.OWNER, True))

    assert response.status_code == 200
    assert LAST_OWNER in response.content.decode()
    assert roles(project) == {owner.username: "owner"}


def test_the_inline_cannot_demote_the_last_owner(admin_client, project, owner, ownership):
    response = change(admin_client, project, (ownership, owner, Role.MAINTAINER, False))

    assert response.status_code == 200
    assert LAST_OWNER in response.content.decode()
    assert roles(project) == {owner.username: "owner"}


def test_the_inline_hands_ownership_over_in_one_save(
    admin_client, project, owner, ownership, new_member
):
    successor, membership = new_member("developer")
    newcomer = UserFactory()

    response = change(
        admin_client,
        project,
        (ownership, owner, Role.MAINTAINER, False),
        (membership, successor, Role.OWNER, False),
        (None, newcomer, Role.REPORTER, False),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert roles(project) == {
        owner.username: "maintainer",
        successor.username: "owner",
        newcomer.username: "reporter",
    }


def test_the_inline_removes_a_member_who_is_not_the_last_owner(
    admin_client, project, owner, ownership, new_member
):
    leaving, membership = new_member("viewer")

    response = change(
        admin_client,
        project,
        (ownership, owner, Role.OWNER, False),
        (membership, leaving, Role.VIEWER, True),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert roles(project) == {owner.username: "owner"}


def test_the_inline_does_not_move_a_membership_to_another_user(
    admin_client, project, owner, ownership, new_member
):
    viewer, membership = new_member("viewer")

    response = change(
        admin_client,
        project,
        (ownership, owner, Role.OWNER, False),
        (membership, UserFactory(), Role.VIEWER, False),
    )

    assert response.status_code == 200
    assert "cannot change; add a new member" in response.content.decode()
    assert Membership.objects.get(pk=membership.pk).user == viewer


# -- the membership pages ---------------------------------------------------------------


def test_the_last_owner_cannot_be_demoted_on_the_membership_page(admin_client, ownership):
    response = admin_client.post(
        f"{MEMBERSHIPS}{ownership.pk}/change/", {"role": str(int(Role.DEVELOPER))}
    )

    assert response.status_code == 302
    assert messages_of(response) == [LAST_OWNER]
    assert Membership.objects.get(pk=ownership.pk).role == Role.OWNER


def test_the_last_owner_cannot_be_deleted_on_the_membership_page(admin_client, ownership):
    response = admin_client.post(f"{MEMBERSHIPS}{ownership.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert messages_of(response) == [LAST_OWNER]
    assert Membership.objects.filter(pk=ownership.pk).exists()


def test_membership_page_changes_roles_and_adds_members(admin_client, project, new_member):
    developer, membership = new_member("developer")
    newcomer = UserFactory()

    changed = admin_client.post(
        f"{MEMBERSHIPS}{membership.pk}/change/", {"role": str(int(Role.MAINTAINER))}
    )
    added = admin_client.post(
        f"{MEMBERSHIPS}add/",
        {"project": project.pk, "user": newcomer.pk, "role": str(int(Role.VIEWER))},
    )

    assert changed.status_code == added.status_code == 302
    assert roles(project)[developer.username] == "maintainer"
    assert roles(project)[newcomer.username] == "viewer"


def test_bulk_removal_keeps_the_last_owner(admin_client, project, ownership, member_of):
    viewer = member_of(project, "viewer")
    selected = list(project.memberships.values_list("pk", flat=True))

    page = admin_client.get(MEMBERSHIPS)
    response = admin_client.post(MEMBERSHIPS, {"action": "remove", "_selected_action": selected})

    assert 'value="delete_selected"' not in page.content.decode()
    assert f"{ownership}: {LAST_OWNER}" in messages_of(response)
    assert "Removed 1 membership(s)." in messages_of(response)
    assert list(project.memberships.all()) == [ownership]
    assert not Membership.objects.filter(user=viewer).exists()


# -- labels -----------------------------------------------------------------------------


def test_labels_are_added_and_renamed_through_the_service(admin_client, project):
    LabelFactory(project=project, name="bug")

    duplicate = admin_client.post(
        f"{LABELS}add/", {"project": project.pk, "name": "BUG", "color": "#D73A4A"}
    )
    added = admin_client.post(
        f"{LABELS}add/", {"project": project.pk, "name": "docs", "color": "#0075CA"}
    )
    docs = Label.objects.get(name="docs")
    renamed_over = admin_client.post(
        f"{LABELS}{docs.pk}/change/", {"name": "Bug", "color": "#0075CA", "description": ""}
    )

    assert duplicate.status_code == 200
    assert added.status_code == 302
    assert renamed_over.status_code == 302
    assert messages_of(renamed_over)[-1] == "This project already has a label named 'Bug'."
    assert sorted(project.labels.values_list("name", flat=True)) == ["bug", "docs"]


def test_labels_of_an_archived_project_are_read_only(admin_client):
    project = ProjectFactory(archived_at=timezone.now())

    response = admin_client.post(
        f"{LABELS}add/", {"project": project.pk, "name": "late", "color": "#0075CA"}
    )

    assert response.status_code == 200
    assert "archived and read-only" in response.content.decode()
    assert not project.labels.exists()


# -- users ------------------------------------------------------------------------------


def test_the_last_owner_of_a_project_cannot_be_deleted(admin_client, project, owner, user):
    one = admin_client.post(f"/admin/accounts/user/{owner.pk}/delete/", {"post": "yes"})
    bulk = admin_client.post(
        "/admin/accounts/user/",
        {"action": "delete_selected", "_selected_action": [owner.pk, user.pk], "post": "yes"},
    )

    refusal = (
        f"The last owner of {project.key} cannot be deleted; make someone else owner first, "
        "or deactivate the user instead."
    )
    assert one.status_code == bulk.status_code == 302
    assert messages_of(one) == [refusal]
    assert messages_of(bulk)[-1] == refusal
    assert User.objects.filter(pk__in=[owner.pk, user.pk]).count() == 2


def test_an_owner_who_is_not_the_last_can_be_deleted(admin_client, project, owner, new_member):
    co_owner, _ = new_member("owner")

    response = admin_client.post(f"/admin/accounts/user/{owner.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(pk=owner.pk).exists()
    assert roles(project) == {co_owner.username: "owner"}


# -- deleting in an archived project ----------------------------------------------------


@pytest.mark.parametrize("kind", ["issue", "label"])
def test_issues_and_labels_of_an_archived_project_are_not_deleted(admin_client, project, kind):
    factory = {"issue": IssueFactory, "label": LabelFactory}[kind]
    kept, also_kept = factory(project=project), factory(project=project)
    Project.objects.filter(pk=project.pk).update(archived_at=timezone.now())
    changelist = f"/admin/issues/{kind}/"

    one = admin_client.post(f"{changelist}{kept.pk}/delete/", {"post": "yes"})
    bulk = admin_client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [kept.pk, also_kept.pk], "post": "yes"},
    )

    assert one.status_code == bulk.status_code == 302
    assert messages_of(one) == ["This project is archived and read-only."]
    assert messages_of(bulk)[-1] == "This project is archived and read-only."
    assert factory._meta.model.objects.filter(project=project).count() == 2


def test_an_issue_of_an_active_project_is_deleted(admin_client, project):
    issue = IssueFactory(project=project)

    response = admin_client.post(f"/admin/issues/issue/{issue.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not project.issues.exists()
