"""Reads of projects that views, services, the admin and commands share (services push,
selectors pull)."""

from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404

from accounts.callers import user_of

from .models import Membership, Project, Role


def projects_visible(user):
    """The projects `user` (a Caller, or a user) may see, each with their role
    (`member_role`)."""
    return Project.objects.visible_to(user).with_member_role(user).select_related("created_by")


def projects_for_write(user=None):
    """Every project, with what its representation reads (its creator and, for `user`,
    their role): where a service locks the row it changes, so it renders as a GET does."""
    projects = Project.objects.select_related("created_by")
    user = user_of(user)
    if user is not None and user.is_authenticated:
        projects = projects.with_member_role(user)
    return projects


def visible_project_ids(user) -> list[int]:
    """The ids of the projects `user` may see, read now."""
    return list(Project.objects.visible_to(user).values_list("pk", flat=True))


def project_get_visible(user, lookup: str) -> Project:
    """A project by key (or numeric id) that `user` may see; 404 otherwise."""
    field = "pk" if lookup.isascii() and lookup.isdigit() else "key"
    return get_object_or_404(projects_visible(user), **{field: lookup.upper()})


def projects_owned_only_by(*, users) -> list[Project]:
    """Projects that would lose their last owner if `users` went away."""
    other_owner = Membership.objects.filter(project=OuterRef("pk"), role=Role.OWNER).exclude(
        user__in=users
    )
    return list(
        Project.objects.filter(memberships__role=Role.OWNER, memberships__user__in=users)
        .filter(~Exists(other_owner))
        .distinct()
    )
