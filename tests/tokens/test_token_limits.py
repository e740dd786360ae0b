"""A token limited to projects reaches nothing else, whoever its user: the change feed of a
site admin's limited token holds its projects' events alone (README, "Personal access
tokens": a project outside the token's `projects` is as if it did not exist)."""

import pytest

from issues.services import issue_create
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_site_admins_limited_token_reads_only_its_projects_events(pat_client, client_for):
    admin = UserFactory(role="admin")
    inside, outside = ProjectFactory(), ProjectFactory()
    for project in (inside, outside):
        MembershipFactory(project=project, user=admin, role=50)
        issue_create(project=project, reporter=admin, title=f"In {project.key}")

    limited = pat_client(admin, ["read"], projects=[inside]).get("/api/v1/events").json()
    unlimited = pat_client(admin, ["read"]).get("/api/v1/events").json()
    signed_in = client_for(admin).get("/api/v1/events").json()

    assert {event["project"] for event in limited["results"]} == {inside.key}
    assert {event["project"] for event in unlimited["results"]} == {inside.key, outside.key}
    assert signed_in["results"] == unlimited["results"]
