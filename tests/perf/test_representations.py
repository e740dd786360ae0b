"""Each resource's JSON is built in one place (its app's representation.py), for the API,
the events' payloads and the benchmark's references; the serializers' declared fields
still describe the schema, and must give exactly the same."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from rest_framework import serializers

from accounts.serializers import UserSummarySerializer
from events.models import Event
from issues.serializers import LabelSerializer
from projects.models import Membership, Role
from projects.selectors import projects_visible
from projects.serializers import MembershipSerializer, ProjectSerializer
from tests.factories import LabelFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def declared(serializer_class, instance, request=None) -> dict:
    """The representation DRF builds field by field from the declared fields."""
    serializer = serializer_class(context={"request": request} if request else {})
    return serializers.ModelSerializer.to_representation(serializer, instance)


@pytest.fixture
def request_of(rf):
    def make(user):
        request = rf.get("/api/v1/projects", secure=True)
        request.user = user
        return request

    return make


def test_a_label_renders_as_declared(project, request_of):
    label = LabelFactory(project=project, description="Things that break.")
    for request in (None, request_of(project.created_by)):
        assert LabelSerializer(label, context={"request": request}).data == declared(
            LabelSerializer, label, request
        )
    assert (
        LabelSerializer(label).data["url"] == f"/api/v1/projects/{project.key}/labels/{label.pk}"
    )


@pytest.mark.parametrize("caller", ["owner", "viewer", "site_admin", "stranger", None])
def test_a_project_renders_as_declared_to_each_caller(request_of, site_admin, caller):
    project = ProjectFactory(visibility="internal", description="Ours.")
    owner = project.created_by
    Membership.objects.create(project=project, user=owner, role=Role.OWNER)
    viewer = UserFactory()
    Membership.objects.create(project=project, user=viewer, role=Role.VIEWER)
    users = {"owner": owner, "viewer": viewer, "site_admin": site_admin}
    users["stranger"] = UserFactory()
    request = request_of(users[caller]) if caller else None
    for loaded in (project, projects_visible(users.get(caller) or owner).get(pk=project.pk)):
        lean = ProjectSerializer(loaded, context={"request": request}).data
        assert lean == declared(ProjectSerializer, loaded, request)
    assert lean["role"] == {"owner": "owner", "viewer": "viewer", "site_admin": "owner"}.get(
        caller, "viewer" if caller else None
    )


def test_a_project_whose_creator_is_gone_renders_as_declared(project):
    project.created_by.delete()
    project.refresh_from_db()
    assert project.created_by is None
    assert ProjectSerializer(project).data == declared(ProjectSerializer, project)


def test_a_membership_and_a_user_render_as_declared(project, member_of, request_of):
    bot = UserFactory(type="bot", display_name="CI")
    Membership.objects.create(project=project, user=bot, role=Role.REPORTER)
    for membership in Membership.objects.filter(project=project).select_related("user", "project"):
        for request in (None, request_of(project.created_by)):
            assert MembershipSerializer(membership, context={"request": request}).data == (
                declared(MembershipSerializer, membership, request)
            )
        user = membership.user
        assert UserSummarySerializer(user).data == declared(UserSummarySerializer, user)


def test_event_payloads_are_the_representation(project, client_for):
    """What a webhook or the feed carries is what a GET of the resource gives, less the
    caller's own `role`."""
    client = client_for(project.created_by)
    client.patch(f"/api/v1/projects/{project.key}", {"name": "Renamed"}, format="json")
    label = client.post(f"/api/v1/projects/{project.key}/labels", {"name": "ux"}, format="json")
    event = Event.objects.filter(type="project.updated").latest("id")
    api = client.get(f"/api/v1/projects/{project.key}").json()
    assert event.data == {**api, "url": api["url"].removeprefix("http://testserver"), "role": None}
    created = Event.objects.get(type="label.created").data
    assert created == {
        **label.json(),
        "url": label.json()["url"].removeprefix("http://testserver"),
    }


def test_the_issue_representation_needs_no_django_settings():
    """bench/bare.py, a WSGI app without Django, renders issues with it."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    code = "import issues.representation as r; print(r.issue_data.__name__)"
    result = subprocess.run(  # noqa: S603 (this interpreter, fixed code)
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "issue_data"
