"""Relations between issues: the rules (tests call the service and the API), who may, and
that an issue the caller cannot see is never shown, counted or named."""

import pytest
from django.test import override_settings

from events.models import Event
from issues.models import IssueEvent, IssueRelation
from projects.models import Project, Role
from tests.factories import IssueFactory, MembershipFactory, ProjectFactory, UserFactory
from tests.matrix import Case, check, matrix

pytestmark = pytest.mark.django_db


def url(issue):
    return f"/api/v1/issues/{issue.key}/relations"


@pytest.fixture
def dev_client(project, developer, client_for):
    return client_for(developer)


def relate(client, issue, type, other):
    return client.post(url(issue), {"type": type, "issue": other.key}, format="json")


def stored():
    return sorted(IssueRelation.objects.values_list("source", "type", "target"))


def test_both_sides_see_the_relation_in_their_words(project, dev_client):
    a, b = IssueFactory(project=project, title="A"), IssueFactory(project=project, title="B")

    response = relate(dev_client, a, "blocks", b)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["type"] == "blocks"
    assert body["issue"] == {
        "key": b.key,
        "title": "B",
        "status": "open",
        "project": project.key,
    }
    assert stored() == [(a.pk, "blocks", b.pk)]
    other = dev_client.get(url(b)).json()["results"]
    assert [(r["type"], r["issue"]["key"]) for r in other] == [("blocked_by", a.key)]
    assert IssueEvent.objects.filter(kind="related", issue=a, field="blocks").exists()
    assert IssueEvent.objects.filter(kind="related", issue=b, field="blocked_by").exists()


def test_inverse_names_store_the_same_relation(project, dev_client):
    a, b = IssueFactory(project=project), IssueFactory(project=project)
    assert relate(dev_client, a, "blocked_by", b).status_code == 201
    assert relate(dev_client, a, "child", IssueFactory(project=project)).status_code == 201
    assert (b.pk, "blocks", a.pk) in stored()


@pytest.mark.parametrize(
    "first, second, code",
    [
        ("blocks", "blocks", "relation_exists"),
        ("relates_to", "relates_to", "relation_exists"),
        ("blocks", "blocked_by", "relation_cycle"),
        ("parent", "child", "relation_cycle"),
        ("duplicate_of", "duplicated_by", "relation_cycle"),
    ],
)
def test_the_same_relation_twice_or_a_two_cycle_is_refused(
    project, dev_client, first, second, code
):
    a, b = IssueFactory(project=project), IssueFactory(project=project)
    assert relate(dev_client, a, first, b).status_code == 201
    before = stored()
    events = IssueEvent.objects.count()

    # relates_to is symmetric: the other side asking again is the same relation.
    response = relate(
        dev_client, b if first == "relates_to" else a, second, a if first == "relates_to" else b
    )

    assert response.status_code == 409, response.content
    assert response.json()["code"] == code
    assert stored() == before and IssueEvent.objects.count() == events


def test_a_longer_cycle_is_refused(project, dev_client):
    a, b, c = (IssueFactory(project=project) for _ in range(3))
    assert relate(dev_client, a, "blocks", b).status_code == 201
    assert relate(dev_client, b, "blocks", c).status_code == 201
    before = stored()
    response = relate(dev_client, c, "blocks", a)
    assert response.status_code == 409
    assert response.json()["code"] == "relation_cycle"
    assert stored() == before


def test_an_issue_cannot_relate_to_itself(project, dev_client):
    a = IssueFactory(project=project)
    response = relate(dev_client, a, "relates_to", a)
    assert response.status_code == 400
    assert "itself" in response.content.decode()
    assert stored() == []


def test_one_parent_only(project, dev_client):
    a, p1, p2 = (IssueFactory(project=project) for _ in range(3))
    assert relate(dev_client, a, "parent", p1).status_code == 201
    response = relate(dev_client, a, "parent", p2)
    assert response.status_code == 409
    assert response.json()["code"] == "parent_exists"
    assert stored() == [(a.pk, "parent", p1.pk)]


@override_settings(ISSUE_MAX_PARENT_DEPTH=2)
def test_parent_chain_depth_is_limited(project, dev_client):
    a, b, c, d = (IssueFactory(project=project) for _ in range(4))
    assert relate(dev_client, b, "parent", a).status_code == 201
    assert relate(dev_client, c, "parent", b).status_code == 201
    before = stored()
    response = relate(dev_client, d, "parent", c)
    assert response.status_code == 409
    assert response.json()["code"] == "parent_too_deep"
    assert stored() == before


@override_settings(ISSUE_MAX_OPEN_CHILDREN=1)
def test_open_children_are_limited_closed_ones_do_not_count(project, dev_client):
    parent = IssueFactory(project=project)
    done = IssueFactory(project=project, status="closed", resolution="fixed")
    first, second = IssueFactory(project=project), IssueFactory(project=project)
    assert relate(dev_client, done, "parent", parent).status_code == 201
    assert relate(dev_client, first, "parent", parent).status_code == 201
    before = stored()
    response = relate(dev_client, second, "parent", parent)
    assert response.status_code == 409
    assert response.json()["code"] == "too_many_children"
    assert stored() == before


def test_archived_projects_refuse_relations(project, developer, dev_client):
    other = ProjectFactory()
    MembershipFactory(project=other, user=developer, role=Role.DEVELOPER)
    a, b = IssueFactory(project=project), IssueFactory(project=other)
    Project.objects.filter(pk=other.pk).update(archived_at="2030-01-01T00:00:00Z")
    response = relate(dev_client, a, "relates_to", b)
    assert response.status_code == 403
    assert response.json()["code"] == "project_archived"
    Project.objects.filter(pk=project.pk).update(archived_at="2030-01-01T00:00:00Z")
    response = relate(dev_client, a, "relates_to", IssueFactory(project=project))
    assert response.status_code == 403
    assert response.json()["code"] == "project_archived"
    assert stored() == []


def test_delete_removes_it_from_both_sides(project, dev_client):
    a, b = IssueFactory(project=project), IssueFactory(project=project)
    relation_id = relate(dev_client, a, "blocks", b).json()["id"]

    response = dev_client.delete(f"{url(b)}/{relation_id}")

    assert response.status_code == 204
    assert stored() == []
    assert IssueEvent.objects.filter(kind="unrelated", issue=a, old_value=b.key).exists()
    assert dev_client.delete(f"{url(b)}/{relation_id}").status_code == 404


def test_a_relation_to_a_hidden_issue_is_never_shown(project, developer, dev_client):
    secret_project = ProjectFactory(visibility="private")
    secret = IssueFactory(project=secret_project, title="Secret target")
    a = IssueFactory(project=project)
    relation = IssueRelation.objects.create(source=secret, target=a, type="blocks")

    listed = dev_client.get(url(a))
    assert listed.status_code == 200
    assert listed.json()["results"] == []
    assert secret.key not in listed.content.decode()
    # Deleting it reads as a relation that does not exist.
    assert dev_client.delete(f"{url(a)}/{relation.pk}").status_code == 404
    missing = dev_client.delete(f"{url(a)}/999999").json()
    hidden = dev_client.delete(f"{url(a)}/{relation.pk}").json()
    assert {**missing, "instance": None} == {**hidden, "instance": None}
    # Naming it reads as an issue that does not exist.
    refused = relate(dev_client, a, "relates_to", secret)
    nosuch = dev_client.post(url(a), {"type": "relates_to", "issue": "NOSUCH-1"}, format="json")
    assert refused.status_code == nosuch.status_code == 400
    assert refused.json()["errors"][0]["message"].replace(secret.key, "NOSUCH-1") == (
        nosuch.json()["errors"][0]["message"]
    )
    assert IssueRelation.objects.count() == 1


def test_across_projects_when_both_are_visible(project, developer, dev_client):
    other = ProjectFactory(visibility="private")
    MembershipFactory(project=other, user=developer, role=Role.VIEWER)
    a, b = IssueFactory(project=project), IssueFactory(project=other)
    response = relate(dev_client, a, "relates_to", b)
    assert response.status_code == 201
    assert response.json()["issue"]["project"] == other.key


CASES = [
    Case("relation list", "get", "/api/v1/issues/{issue}/relations"),
    Case(
        "relation create",
        "post",
        "/api/v1/issues/{issue}/relations",
        {"type": "blocks", "issue": "{other}"},
        allowed="developer",
        status=201,
        scope="relations:write",
    ),
    Case(
        "relation delete",
        "delete",
        "/api/v1/issues/{issue}/relations/{relation}",
        allowed="developer",
        status=204,
        scope="relations:write",
    ),
]


@matrix(CASES)
def test_permission_matrix(project, client_as, case, kind, visibility):
    project.visibility = visibility
    project.save()
    issue = IssueFactory(project=project, title="Secret crash")
    other, third = IssueFactory(project=project), IssueFactory(project=project)
    relation = IssueRelation.objects.create(source=issue, target=third, type="relates_to")
    _user, client = client_as(project, kind, case.scope)

    response = check(
        client, case, kind, visibility, issue=issue.key, other=other.key, relation=relation.pk
    )

    if response.status_code >= 400:
        assert "Secret crash" not in response.content.decode()
    elif case.method == "get":
        assert response.json()["results"][0]["issue"]["key"] == third.key


# -- the workflow gate ---------------------------------------------------------------------


def close(client, issue, **extra):
    body = {"status": "closed", "resolution": "wont_fix", **extra}
    return client.post(f"/api/v1/issues/{issue.key}/status", body, format="json")


def test_closing_with_open_blockers_or_children_is_refused(project, maintainer, client_for):
    client = client_for(maintainer)
    issue = IssueFactory(project=project)
    blocker, child = IssueFactory(project=project), IssueFactory(project=project)
    done = IssueFactory(project=project, status="closed", resolution="fixed")
    secret = IssueFactory(project=ProjectFactory(visibility="private"), title="Hidden blocker")
    for source, type in ((blocker, "blocks"), (child, "parent"), (done, "blocks")):
        IssueRelation.objects.create(source=source, target=issue, type=type)
    IssueRelation.objects.create(source=secret, target=issue, type="blocks")
    events = IssueEvent.objects.count()

    response = close(client, issue)

    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "rule_not_met"
    assert body["open_blockers"] == [blocker.key]
    assert body["hidden_open_blockers"] == 1
    assert body["open_children"] == [child.key]
    assert secret.key not in response.content.decode()
    assert "Hidden blocker" not in response.content.decode()
    issue.refresh_from_db()
    assert issue.status == "open" and IssueEvent.objects.count() == events


def test_force_takes_the_override_right_and_is_recorded(project, maintainer, client_for):
    issue = IssueFactory(project=project, reporter=maintainer)
    IssueRelation.objects.create(source=IssueFactory(project=project), target=issue, type="blocks")
    reporter = UserFactory()
    MembershipFactory(project=project, user=reporter, role=Role.REPORTER)
    own = IssueFactory(project=project, reporter=reporter)
    IssueRelation.objects.create(source=IssueFactory(project=project), target=own, type="blocks")

    refused = close(client_for(reporter), own, force=True)
    assert refused.status_code == 403
    own.refresh_from_db()
    assert own.status == "open"

    response = close(client_for(maintainer), issue, force=True)
    assert response.status_code == 200, response.content
    event = IssueEvent.objects.get(issue=issue, kind="transitioned")
    assert event.actor == maintainer
    assert (event.field, event.new_value["forced"]) == ("force", True)


def test_closing_once_blockers_are_done_needs_no_force(project, maintainer, client_for):
    issue = IssueFactory(project=project)
    blocker = IssueFactory(project=project, status="closed", resolution="fixed")
    IssueRelation.objects.create(source=blocker, target=issue, type="blocks")
    assert close(client_for(maintainer), issue).status_code == 200


def test_resolving_as_duplicate_needs_the_original(project, maintainer, client_for):
    client = client_for(maintainer)
    issue, original = IssueFactory(project=project), IssueFactory(project=project)

    refused = close(client, issue, resolution="duplicate")
    assert refused.status_code == 400
    assert "duplicate_of" in refused.content.decode()
    issue.refresh_from_db()
    assert issue.status == "open" and stored() == []

    response = close(client, issue, resolution="duplicate", duplicate_of=original.key)
    assert response.status_code == 200, response.content
    assert stored() == [(issue.pk, "duplicate_of", original.pk)]


# -- list filters ---------------------------------------------------------------------------


def keys(client, query):
    response = client.get(f"/api/v1/issues?{query}")
    assert response.status_code == 200, response.content
    return {issue["key"] for issue in response.json()["results"]}


def test_list_filters(project, developer, dev_client):
    blocker, blocked, free = (IssueFactory(project=project) for _ in range(3))
    parent, child = IssueFactory(project=project), IssueFactory(project=project)
    done = IssueFactory(project=project, status="closed", resolution="fixed")
    hidden = IssueFactory(project=ProjectFactory(visibility="private"))
    IssueRelation.objects.create(source=blocker, target=blocked, type="blocks")
    IssueRelation.objects.create(source=done, target=free, type="blocks")
    IssueRelation.objects.create(source=hidden, target=free, type="blocks")
    IssueRelation.objects.create(source=child, target=parent, type="parent")

    assert keys(dev_client, "blocked=true") == {blocked.key}
    assert blocked.key not in keys(dev_client, "blocked=false")
    assert keys(dev_client, f"parent={parent.key}") == {child.key}
    assert keys(dev_client, "has_children=true") == {parent.key}
    assert keys(dev_client, f"related_to={blocker.key}") == {blocked.key}
    assert keys(dev_client, f"related_to={hidden.key}") == set()
    assert keys(dev_client, "ready=true") == {blocker.key, free.key, parent.key, child.key}


def test_deleting_an_issue_removes_its_relations_and_tells_the_other_side(
    project, maintainer, client_for
):
    a, b = IssueFactory(project=project), IssueFactory(project=project)
    IssueRelation.objects.create(source=a, target=b, type="blocks")

    response = client_for(maintainer).delete(f"/api/v1/issues/{a.key}")

    assert response.status_code == 204
    assert stored() == []
    told = IssueEvent.objects.get(issue=b, kind="unrelated")
    assert (told.field, told.old_value) == ("blocked_by", a.key)
    assert Event.objects.filter(type="issue.unrelated").exists()
