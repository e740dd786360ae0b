import pytest

from projects.models import Membership, Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def members_url(project, username=""):
    base = f"/api/v1/projects/{project.key}/members"
    return f"{base}/{username}" if username else base


def test_add_member(project, client_for):
    newcomer = UserFactory()
    response = client_for(project.created_by).post(
        members_url(project), {"username": newcomer.username, "role": "developer"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["user"]["username"] == newcomer.username
    assert response.json()["role"] == "developer"
    assert "email" not in response.json()["user"]
    assert Membership.objects.get(project=project, user=newcomer).role == Role.DEVELOPER


def test_adding_an_existing_member_is_a_400(project, client_for, member_of):
    dev = member_of(project, "developer")
    response = client_for(project.created_by).post(
        members_url(project), {"username": dev.username, "role": "viewer"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "username"
    assert Membership.objects.get(project=project, user=dev).role == Role.DEVELOPER


@pytest.mark.parametrize(
    "body,field",
    [
        ({"username": "nobody", "role": "viewer"}, "username"),
        ({"username": "{u}", "role": "emperor"}, "role"),
        ({"role": "viewer"}, "username"),
    ],
)
def test_add_member_rejects_bad_input(project, client_for, body, field):
    someone = UserFactory()
    body = {k: v.format(u=someone.username) for k, v in body.items()}
    response = client_for(project.created_by).post(members_url(project), body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert Membership.objects.filter(project=project).count() == 1


def test_members_are_listed_by_role(project, client_for, member_of):
    member_of(project, "viewer")
    member_of(project, "maintainer")
    response = client_for(project.created_by).get(members_url(project))
    roles = [item["role"] for item in response.json()["results"]]
    assert roles == ["owner", "maintainer", "viewer"]


def test_last_owner_cannot_be_demoted_or_removed(project, client_for):
    owner = project.created_by
    client = client_for(owner)
    response = client.patch(members_url(project, owner.username), {"role": "viewer"}, "json")
    assert response.status_code == 400
    assert "at least one owner" in response.json()["errors"][0]["message"]
    response = client.delete(members_url(project, owner.username))
    assert response.status_code == 400
    assert Membership.objects.get(project=project, user=owner).role == Role.OWNER


def test_an_owner_can_step_down_when_another_owner_exists(project, client_for):
    MembershipFactory(project=project, role=Role.OWNER)
    owner = project.created_by
    response = client_for(owner).patch(
        members_url(project, owner.username), {"role": "developer"}, format="json"
    )
    assert response.status_code == 200
    assert Membership.objects.get(project=project, user=owner).role == Role.DEVELOPER


def test_maintainer_cannot_make_owners(project, client_for, member_of):
    maintainer = member_of(project, "maintainer")
    dev = member_of(project, "developer")
    response = client_for(maintainer).patch(
        members_url(project, dev.username), {"role": "owner"}, format="json"
    )
    assert response.status_code == 403
    assert Membership.objects.get(project=project, user=dev).role == Role.DEVELOPER


def test_nobody_sets_their_own_role_up(project, client_for, member_of):
    dev = member_of(project, "developer")
    response = client_for(dev).patch(
        members_url(project, dev.username), {"role": "owner"}, format="json"
    )
    assert response.status_code == 403
    assert Membership.objects.get(project=project, user=dev).role == Role.DEVELOPER


def test_patch_without_role_is_a_400(project, client_for, member_of):
    dev = member_of(project, "developer")
    response = client_for(project.created_by).patch(members_url(project, dev.username), {}, "json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "role"


def test_unknown_member_is_404(project, client_for):
    response = client_for(project.created_by).get(members_url(project, "ghost"))
    assert response.status_code == 404


@pytest.mark.parametrize("page_size", [1, 100])
def test_member_list_query_count_is_constant(
    project, client_for, django_assert_max_num_queries, page_size
):
    for _ in range(20):
        MembershipFactory(project=project, user=UserFactory())
    client = client_for(project.created_by)
    # token blocklist (without Redis), user, project with role, count, page
    with django_assert_max_num_queries(5):
        response = client.get(f"{members_url(project)}?page_size={page_size}")
    assert len(response.json()["results"]) == min(page_size, 21)
