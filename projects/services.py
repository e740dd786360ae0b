"""Project and membership writes; the API, the admin and commands all go through these."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.errors import NotAllowed

from .models import Membership, Project, Role


class ProjectArchived(NotAllowed):
    message = "This project is archived and read-only."
    code = "project_archived"


def project_ensure_active(*, project: Project) -> None:
    """Archived projects are read-only, whoever asks (API, admin or command)."""
    if project.is_archived:
        raise ProjectArchived()


@transaction.atomic
def project_create(
    *, creator, key: str, name: str, description: str = "", visibility: str = "private"
) -> Project:
    """Create a project; its creator becomes its first owner."""
    project = Project(
        key=key, name=name, description=description, visibility=visibility, created_by=creator
    )
    project.full_clean()
    project.save()
    Membership.objects.create(project=project, user=creator, role=Role.OWNER)
    return project


@transaction.atomic
def project_update(*, project: Project, **fields) -> Project:
    project_ensure_active(project=project)
    if "key" in fields and fields["key"] != project.key:
        raise ValidationError({"key": "A project's key cannot be changed."})
    for name in ("name", "description", "visibility"):
        if name in fields:
            setattr(project, name, fields[name])
    project.full_clean()
    project.save()
    return project


def project_archive(*, project: Project) -> Project:
    if project.archived_at is None:
        project.archived_at = timezone.now()
        project.save(update_fields=["archived_at", "updated_at"])
    return project


def project_unarchive(*, project: Project) -> Project:
    if project.archived_at is not None:
        project.archived_at = None
        project.save(update_fields=["archived_at", "updated_at"])
    return project


def project_delete(*, project: Project) -> None:
    project.delete()


@transaction.atomic
def membership_add(*, project: Project, user, role: Role) -> Membership:
    project_ensure_active(project=project)
    if Membership.objects.filter(project=project, user=user).exists():
        raise ValidationError({"username": f"{user.username} is already a member."})
    return Membership.objects.create(project=project, user=user, role=role)


def _lock_owners(project: Project) -> int:
    """Lock the project's owner rows and count them, so two demotions cannot race."""
    owners = Membership.objects.select_for_update().filter(project=project, role=Role.OWNER)
    return len(owners)


@transaction.atomic
def membership_change_role(*, membership: Membership, role: Role) -> Membership:
    project_ensure_active(project=membership.project)
    demoting_owner = membership.role == Role.OWNER and role != Role.OWNER
    if demoting_owner and _lock_owners(membership.project) <= 1:
        raise ValidationError(
            {"role": "A project must keep at least one owner; add another owner first."}
        )
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    project_ensure_active(project=membership.project)
    if membership.role == Role.OWNER and _lock_owners(membership.project) <= 1:
        raise ValidationError(
            {"username": "A project must keep at least one owner; add another owner first."}
        )
    membership.delete()
