"""Who may do what in a project: the one place roles are turned into rights.

Permission classes, FSM permission callables and the permissions endpoint all ask
these helpers, so the rules in the role table are written once.
"""

from .models import Membership, Project, Role

# Each action and the lowest role that may take it.
ACTIONS: dict[str, Role] = {
    "view_project": Role.VIEWER,
    "create_issue": Role.REPORTER,
    "comment": Role.REPORTER,
    "edit_own_comment": Role.REPORTER,
    "edit_issue": Role.DEVELOPER,
    "assign_issue": Role.DEVELOPER,
    "transition_issue": Role.DEVELOPER,
    "delete_any_comment": Role.MAINTAINER,
    "delete_issue": Role.MAINTAINER,
    "manage_labels": Role.MAINTAINER,
    "edit_project": Role.MAINTAINER,
    "manage_members": Role.MAINTAINER,
    "manage_owners": Role.OWNER,
    "archive_project": Role.OWNER,
    "delete_project": Role.OWNER,
}
# What still works on an archived (read-only) project.
ARCHIVED_ACTIONS = {"view_project", "archive_project", "delete_project"}

_UNSET = object()


def member_role(user, project: Project) -> Role | None:
    """The user's membership role in the project, or None; looked up once per project object."""
    cache = project.__dict__.setdefault("_member_roles", {})
    if user.pk not in cache:
        annotated = getattr(project, "member_role", _UNSET)
        if annotated is not _UNSET and getattr(project, "member_role_for", None) == user.pk:
            role = annotated
        else:
            role = (
                Membership.objects.filter(project=project, user=user)
                .values_list("role", flat=True)
                .first()
            )
        cache[user.pk] = Role(role) if role is not None else None
    return cache[user.pk]


def project_role(user, project: Project) -> Role | None:
    """The role the user acts with: site admins as owners, anyone signed in as a
    viewer of an internal project; None when the project is hidden from them."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_site_admin:
        return Role.OWNER
    role = member_role(user, project)
    if role is not None:
        return role
    if project.visibility == Project.Visibility.INTERNAL:
        return Role.VIEWER
    return None


def has_role(user, project: Project, minimum: Role) -> bool:
    role = project_role(user, project)
    return role is not None and role >= minimum


def can(user, project: Project, action: str) -> bool:
    if project.is_archived and action not in ARCHIVED_ACTIONS:
        return False
    return has_role(user, project, ACTIONS[action])


def allowed_actions(user, project: Project) -> list[str]:
    return [action for action in ACTIONS if can(user, project, action)]
