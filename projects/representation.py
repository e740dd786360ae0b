"""A project and a membership as clients read them: the one place their JSON is built,
for the API (ProjectSerializer, MembershipSerializer) and the events' payloads
(projects/services.py). The serializers' declared fields still describe the schema, and
tests/perf/test_representations.py keeps the two equal."""

from accounts.representation import user_summary
from api.links import detail_url
from api.representation import utc_iso

from .models import Role
from .rights import project_role


def caller_role(project, request=None) -> str | None:
    """The role of the caller of `request` in the project (None for none, and without a
    request: an event's payload has no caller)."""
    role = project_role(request.user, project) if request is not None else None
    return role.label if role is not None else None


def project_data(project, request=None) -> dict:
    """A project (read with its creator) as its GET answers it to the caller of `request`:
    `role` is theirs. Without a request (an event's payload) `role` is null and `url` a
    path."""
    return {
        "id": project.id,
        "url": detail_url("project-detail", project.key, request=request),
        "key": project.key,
        "name": project.name,
        "description": project.description,
        "visibility": project.visibility,
        "role": caller_role(project, request),
        "created_by": user_summary(project.created_by),
        "created_at": utc_iso(project.created_at),
        "updated_at": utc_iso(project.updated_at),
        "archived_at": utc_iso(project.archived_at),
    }


def membership_data(membership, request=None) -> dict:
    """A membership (read with its user and project) as its GET answers it."""
    user = membership.user
    return {
        "url": detail_url("member-detail", membership.project.key, user.username, request=request),
        "user": user_summary(user),
        "role": Role(membership.role).label,
        "created_at": utc_iso(membership.created_at),
    }
