"""Project and membership writes; the API, the admin and commands all go through these."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import BOT_SUFFIX, User
from api.errors import NotAllowed
from api.versions import Expected, lock_for_write
from events.models import Event
from events.outbox import event_emit

from .models import Membership, Project, Role
from .representation import membership_data, project_data
from .selectors import projects_for_write


class ProjectArchived(NotAllowed):
    message = "This project is archived and read-only."
    code = "project_archived"


def project_ensure_active(*, project: Project) -> None:
    """Archived projects are read-only, whoever asks (API, admin or command)."""
    if project.is_archived:
        raise ProjectArchived()


def _ensure_role_allowed(*, user, role: Role) -> None:
    if user.is_bot and role == Role.OWNER:
        raise ValidationError({"role": "A bot cannot be an owner."})


def _ensure_may_join(*, project: Project, user) -> None:
    """A bot belongs to the project that created it and is a member of no other."""
    if user.is_bot and user.bot_project_id != project.pk:
        raise ValidationError(
            {
                "username": f"{user.username} is another project's bot; a bot is a member of "
                "its own project only."
            }
        )


def _emit_project(type: str, project: Project, actor, **extra) -> None:
    event_emit(type=type, project=project, actor=actor, data=project_data(project), **extra)


def _emit_member(type: str, membership: Membership, actor, **extra) -> None:
    data = membership_data(membership)
    event_emit(type=type, project=membership.project, actor=actor, data=data, **extra)


@transaction.atomic
def project_create(
    *, creator, key: str, name: str, description: str = "", visibility: str = "private"
) -> Project:
    """Create a project; its creator becomes its first owner."""
    if creator.is_bot:
        raise NotAllowed("A bot belongs to its project and cannot create another.")
    project = Project(
        key=key, name=name, description=description, visibility=visibility, created_by=creator
    )
    project.full_clean()
    project.save()
    Membership.objects.create(project=project, user=creator, role=Role.OWNER)
    _emit_project(Event.Type.PROJECT_CREATED, project, creator)
    return project


def _lock_project(project: Project, actor, expected: Expected | None) -> Project:
    """The project read again with its row locked, if still the version expected, with the
    actor's role (its representation shows the caller's)."""
    return lock_for_write(projects_for_write(actor), project.pk, expected)


@transaction.atomic
def project_update(
    *, project: Project, actor=None, expected: Expected | None = None, **fields
) -> Project:
    project = _lock_project(project, actor, expected)
    project_ensure_active(project=project)
    if "key" in fields and fields["key"] != project.key:
        raise ValidationError({"key": "A project's key cannot be changed."})
    old = {}
    for name in ("name", "description", "visibility"):
        if name in fields and fields[name] != getattr(project, name):
            old[name] = getattr(project, name)
            setattr(project, name, fields[name])
    project.full_clean()
    project.save()
    if not old:
        return project
    _emit_project(Event.Type.PROJECT_UPDATED, project, actor, changes=old)
    return project


def _set_archived(project: Project, archived: bool, actor, expected: Expected | None) -> Project:
    project = _lock_project(project, actor, expected)
    if project.is_archived != archived:
        project.archived_at = timezone.now() if archived else None
        project.save(update_fields=["archived_at", "updated_at"])
        kind = Event.Type.PROJECT_ARCHIVED if archived else Event.Type.PROJECT_UNARCHIVED
        _emit_project(kind, project, actor)
    return project


@transaction.atomic
def project_archive(*, project: Project, actor=None, expected: Expected | None = None) -> Project:
    return _set_archived(project, True, actor, expected)


@transaction.atomic
def project_unarchive(
    *, project: Project, actor=None, expected: Expected | None = None
) -> Project:
    return _set_archived(project, False, actor, expected)


@transaction.atomic
def project_delete(*, project: Project, actor=None, expected: Expected | None = None) -> None:
    project = _lock_project(project, actor, expected)
    # Recorded first, while the project row exists; the deletion then sets the event's
    # project to null (its key stays), so only site admins see it in the feed.
    _emit_project(Event.Type.PROJECT_DELETED, project, actor)
    project.delete()


@transaction.atomic
def membership_add(*, project: Project, user, role: Role, actor=None) -> Membership:
    project_ensure_active(project=project)
    _ensure_may_join(project=project, user=user)
    _ensure_role_allowed(user=user, role=role)
    if Membership.objects.filter(project=project, user=user).exists():
        raise ValidationError({"username": f"{user.username} is already a member."})
    membership = Membership.objects.create(project=project, user=user, role=role)
    _emit_member(Event.Type.MEMBER_ADDED, membership, actor)
    return membership


def _lock_owners(project: Project) -> int:
    """Lock the project's owner rows and count them, so two demotions cannot race."""
    owners = Membership.objects.select_for_update().filter(project=project, role=Role.OWNER)
    return len(owners)


def _lock_membership(membership: Membership, expected: Expected | None) -> Membership:
    memberships = Membership.objects.select_related("user", "project")
    return lock_for_write(memberships, membership.pk, expected)


@transaction.atomic
def membership_change_role(
    *, membership: Membership, role: Role, actor=None, expected: Expected | None = None
) -> Membership:
    membership = _lock_membership(membership, expected)
    project_ensure_active(project=membership.project)
    if role == membership.role:
        return membership
    _ensure_role_allowed(user=membership.user, role=role)
    demoting_owner = membership.role == Role.OWNER and role != Role.OWNER
    if demoting_owner and _lock_owners(membership.project) <= 1:
        raise ValidationError(
            {"role": "A project must keep at least one owner; add another owner first."}
        )
    old = membership_data(membership)["role"]
    membership.role = role
    membership.save(update_fields=["role"])
    _emit_member(Event.Type.MEMBER_UPDATED, membership, actor, changes={"role": old})
    return membership


@transaction.atomic
def membership_remove(
    *, membership: Membership, actor=None, expected: Expected | None = None
) -> None:
    membership = _lock_membership(membership, expected)
    project_ensure_active(project=membership.project)
    if membership.role == Role.OWNER and _lock_owners(membership.project) <= 1:
        raise ValidationError(
            {"username": "A project must keep at least one owner; add another owner first."}
        )
    data = membership_data(membership)
    membership.delete()
    event_emit(type=Event.Type.MEMBER_REMOVED, project=membership.project, actor=actor, data=data)


@transaction.atomic
def bot_create(*, project: Project, name: str, role: Role, actor=None) -> Membership:
    """A bot user of `project` (no usable password: it acts only through its tokens) and
    its membership there with `role`; it belongs to `project`, and goes when it goes."""
    username = f"{project.key.lower()}-{name.lower()}{BOT_SUFFIX}"
    bot = User(
        username=username,
        email=f"{username}@bots.invalid",  # unique, and never delivered (RFC 2606)
        display_name=name,
        type=User.Type.BOT,
        bot_project=project,
    )
    _ensure_role_allowed(user=bot, role=role)
    project_ensure_active(project=project)
    bot.set_unusable_password()
    taken = ValidationError({"name": f"{project.key} already has a bot named {name}."})
    if User.objects.filter(username__iexact=username).exists():
        raise taken
    bot.full_clean()
    try:
        with transaction.atomic():
            bot.save()
    except IntegrityError as e:  # a concurrent request created it first
        raise taken from e
    return membership_add(project=project, user=bot, role=role, actor=actor)
