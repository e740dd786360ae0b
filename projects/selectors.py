"""Reads of projects that views, services, the admin and commands share (services push,
selectors pull)."""

from django.db.models import Exists, OuterRef, Q
from django.shortcuts import get_object_or_404

from accounts.callers import user_of
from accounts.models import User

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


def users_named_in(project: Project):
    """The users a request about `project` may name: people, and the project's own bots.
    Another project's bot is as unknown here as a name nobody has (a bot's name tells its
    project)."""
    return User.objects.filter(Q(type=User.Type.USER) | Q(bot_project=project))


def users_known_to(user):
    """The users `user` may name anywhere: people, and the bots of projects they can see."""
    return User.objects.filter(
        Q(type=User.Type.USER) | Q(bot_project__in=Project.objects.visible_to(user))
    )
