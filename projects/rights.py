"""Who may do what: the one table of rights.

Every action a caller can take in a project is declared once, in `RIGHTS`: the lowest
role that may take it on anything, the relations to one object (the issue's reporter or
assignee, the comment's author, one's own membership) that let a lower role take it
there, whether it still works on an archived project, the token scope it needs, and
what a refused caller is told. The actions outside any project (creating a project,
one's tokens and account, the change feed, signing out) are the table's site-level part,
`SITE_RIGHTS` (declared in accounts/rights.py, below this app, and read from here too).

Views declare which right each action takes (`rights = {...}`, read by
`projects.permissions.HasRights`); the workflow's FSM permission callables and
`GET /projects/{key}/permissions/me` read this table too, so a rule changed here changes
everywhere at once. The caller is a `Caller` (accounts/callers.py): the user and the
limits of their personal access token, if they used one; a plain user (the admin,
commands) has every right of theirs.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from accounts.callers import as_caller, user_of
from accounts.pats import missing_scope_message
from accounts.rights import SITE_RIGHTS, Refusal, SiteRight, site_refusal

from .models import Membership, Project, Role

__all__ = ["RIGHTS", "SITE_RIGHTS", "Refusal", "Right", "SiteRight", "refusal", "site_refusal"]

ARCHIVED_MESSAGE = "This project is archived and read-only."


class Relation(StrEnum):
    """How the caller stands to the object an action is taken on."""

    REPORTER = "reporter"  # reported the issue
    ASSIGNEE = "assignee"  # is the assignee
    NOT_ASSIGNEE = "not_assignee"  # is not the assignee (reviews someone else's work)
    AUTHOR = "author"  # wrote the comment
    SELF = "self"  # the membership is their own
    REQUESTER = "requester"  # asked for the export
    UPLOADER = "uploader"  # uploaded the attachment


@dataclass(frozen=True)
class Right:
    # The lowest role that may take the action on anything; None: only through a relation.
    minimum: Role | None
    # What a caller without the right is told (the API's 403 detail).
    refusal: str
    # Relations that let a lower role take the action on one object, with the lowest
    # role each needs.
    relations: dict[Relation, Role] = field(default_factory=dict)
    # Whether the action still works on an archived (read-only) project.
    archived: bool = False
    # The personal access token scope the action needs.
    scope: str = "read"
    # Whether site admins may take it where no role would do (they otherwise act as owners).
    site_admins: bool = False


RIGHTS: dict[str, Right] = {
    # -- the project ----------------------------------------------------------------------
    "view_project": Right(
        Role.VIEWER, "You cannot see this project.", archived=True, scope="read"
    ),
    "edit_project": Right(
        Role.MAINTAINER,
        "Only maintainers and owners can change the project's settings.",
        scope="projects:admin",
    ),
    "archive_project": Right(
        Role.OWNER,
        "Only owners can archive or unarchive the project.",
        archived=True,
        scope="projects:admin",
    ),
    "delete_project": Right(
        Role.OWNER, "Only owners can delete the project.", archived=True, scope="projects:admin"
    ),
    "manage_members": Right(
        Role.MAINTAINER,
        "Only maintainers and owners can add, change or remove members.",
        scope="members:write",
    ),
    "manage_owners": Right(
        Role.OWNER, "Only owners can make, change or remove owners.", scope="members:write"
    ),
    "leave_project": Right(
        None,
        "Only the member themselves, or a maintainer or owner, can remove a membership.",
        relations={Relation.SELF: Role.VIEWER},
        scope="members:write",
    ),
    "manage_labels": Right(
        Role.MAINTAINER,
        "Only maintainers and owners can create, change or delete labels.",
        scope="issues:write",
    ),
    "view_webhooks": Right(
        Role.MAINTAINER,
        "Only maintainers and owners can see webhooks and their deliveries.",
        archived=True,
        scope="webhooks:admin",
    ),
    "manage_webhooks": Right(
        Role.MAINTAINER,
        "Only maintainers and owners can manage webhooks.",
        scope="webhooks:admin",
    ),
    # -- issues -----------------------------------------------------------------------------
    "create_issue": Right(
        Role.REPORTER, "Only reporters and above can create issues.", scope="issues:write"
    ),
    "assign_issue": Right(
        Role.DEVELOPER, "Only developers and above can assign issues.", scope="issues:write"
    ),
    "edit_issue": Right(
        Role.DEVELOPER,
        "Only developers and above can change an issue's type, priority, assignee, labels "
        "or due date; reporters may change the title and description of issues they reported.",
        scope="issues:write",
    ),
    "edit_issue_text": Right(
        Role.DEVELOPER,
        "You may only change the title and description of issues you reported.",
        relations={Relation.REPORTER: Role.REPORTER},
        scope="issues:write",
    ),
    "delete_issue": Right(
        Role.MAINTAINER, "Only maintainers and owners can delete issues.", scope="issues:write"
    ),
    # -- relations between issues (issues/relations.py): of the URL's issue, to one the
    # caller can see
    "relate_issues": Right(
        Role.DEVELOPER,
        "Only developers and above can relate this issue to others.",
        scope="relations:write",
    ),
    "force_transition": Right(
        Role.MAINTAINER,
        "Only maintainers and owners can resolve or close an issue with open blockers or "
        "open sub-issues.",
        scope="issues:write",
    ),
    # -- the workflow: one right per transition (issues/models.py names them) -------------
    "start_issue": Right(
        Role.MAINTAINER,
        "Only the assignee, or a maintainer or owner, may start work on this issue.",
        relations={Relation.ASSIGNEE: Role.DEVELOPER},
        scope="issues:write",
    ),
    "stop_issue": Right(
        Role.MAINTAINER,
        "Only the assignee, or a maintainer or owner, may stop work on this issue.",
        relations={Relation.ASSIGNEE: Role.DEVELOPER},
        scope="issues:write",
    ),
    "submit_issue_for_review": Right(
        None,
        "Only the assignee may submit this issue for review.",
        relations={Relation.ASSIGNEE: Role.DEVELOPER},
        scope="issues:write",
        site_admins=True,
    ),
    "request_changes": Right(
        Role.MAINTAINER,
        "Only a developer other than the assignee, or a maintainer or owner, may request "
        "changes to this issue.",
        relations={Relation.NOT_ASSIGNEE: Role.DEVELOPER},
        scope="issues:write",
    ),
    "resolve_issue": Right(
        Role.MAINTAINER,
        "Only a developer other than the assignee, or a maintainer or owner, may resolve "
        "this issue.",
        relations={Relation.NOT_ASSIGNEE: Role.DEVELOPER},
        scope="issues:write",
    ),
    "close_issue": Right(
        Role.MAINTAINER,
        "Only the issue's reporter, or a maintainer or owner, may close this issue.",
        relations={Relation.REPORTER: Role.REPORTER},
        scope="issues:write",
    ),
    "reopen_issue": Right(
        Role.DEVELOPER,
        "Only the issue's reporter, or a developer or above, may reopen this issue.",
        relations={Relation.REPORTER: Role.REPORTER},
        scope="issues:write",
    ),
    # -- comments ---------------------------------------------------------------------------
    "comment": Right(
        Role.REPORTER, "Only reporters and above can comment.", scope="comments:write"
    ),
    "edit_comment": Right(
        None,
        "Only the comment's author may edit it.",
        relations={Relation.AUTHOR: Role.REPORTER},
        scope="comments:write",
    ),
    "delete_comment": Right(
        Role.MAINTAINER,
        "Only the comment's author, or a maintainer or owner, may delete it.",
        relations={Relation.AUTHOR: Role.REPORTER},
        scope="comments:write",
    ),
    # -- attachments (attachments/) --------------------------------------------------------
    "attach": Right(
        Role.REPORTER,
        "Only reporters and above can attach files.",
        scope="attachments:write",
    ),
    "complete_upload": Right(
        None,
        "Only the attachment's uploader may complete its upload.",
        relations={Relation.UPLOADER: Role.REPORTER},
        scope="attachments:write",
    ),
    "delete_attachment": Right(
        Role.MAINTAINER,
        "Only the attachment's uploader, or a maintainer or owner, may delete it.",
        relations={Relation.UPLOADER: Role.REPORTER},
        scope="attachments:write",
    ),
    # -- exports and imports (transfers/) -------------------------------------------------
    "export_issues": Right(
        Role.VIEWER, "You cannot export this project's issues.", archived=True, scope="read"
    ),
    "view_export": Right(
        Role.MAINTAINER,
        "Only the person who asked for this export, or a maintainer or owner, can read it.",
        relations={Relation.REQUESTER: Role.VIEWER},
        archived=True,
        scope="read",
    ),
    "import_issues": Right(
        Role.MAINTAINER,
        "Only maintainers and owners can import issues.",
        scope="issues:import",
    ),
    "view_imports": Right(
        Role.MAINTAINER,
        "Only maintainers and owners can see the project's imports.",
        archived=True,
        scope="read",
    ),
    # -- notifications (notifications/): one's own subscriptions, read-only projects too --
    "watch": Right(
        Role.VIEWER,
        "You cannot watch this project.",
        archived=True,
        scope="notifications",
    ),
}

_UNSET = object()
# Stands for "whatever the object" in the questions below (see _role_allows).
EVERYTHING = object()


# -- the caller's role ----------------------------------------------------------------------


def member_role(user, project: Project) -> Role | None:
    """The user's membership role in the project, or None; looked up once per project object."""
    user = user_of(user)
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
    user = user_of(user)
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


# -- the table, applied -------------------------------------------------------------------------


def _holds(relation: Relation, user, obj) -> bool:
    if relation is Relation.REPORTER:
        return obj.reporter_id is not None and obj.reporter_id == user.pk
    if relation is Relation.ASSIGNEE:
        return obj.assignee_id is not None and obj.assignee_id == user.pk
    if relation is Relation.NOT_ASSIGNEE:
        return obj.assignee_id != user.pk
    if relation is Relation.AUTHOR:
        return obj.author_id is not None and obj.author_id == user.pk
    if relation is Relation.REQUESTER:
        return obj.requested_by_id is not None and obj.requested_by_id == user.pk
    if relation is Relation.UPLOADER:
        return obj.uploader_id is not None and obj.uploader_id == user.pk
    return obj.user_id == user.pk  # Relation.SELF


def _role_allows(user, project: Project, right: Right, obj) -> bool:
    """The role test alone. `obj` is the object acted on; None asks whether the caller may
    take the action on something in the project (on everything, or where a relation
    holds); EVERYTHING asks whether they may take it whatever the object."""
    role = project_role(user, project)
    if role is None:
        return False
    if right.minimum is not None and role >= right.minimum:
        return True
    if right.site_admins and user.is_site_admin:
        return True
    if obj is EVERYTHING:
        return False
    return any(
        role >= minimum and (obj is None or _holds(relation, user, obj))
        for relation, minimum in right.relations.items()
    )


def refusal(caller, project: Project, action: str, obj=None) -> Refusal | None:
    """Why `caller` (a Caller; a user has every right of theirs) may not take `action` (on
    `obj`, in `project`) now, or None if they may."""
    right, caller = RIGHTS[action], as_caller(caller)
    # The archive first: whoever can see the project learns the reason that applies to all.
    if project.is_archived and not right.archived:
        return Refusal(ARCHIVED_MESSAGE, "project_archived")
    if not _role_allows(caller.user, project, right, obj):
        return Refusal(right.refusal, "permission_denied")
    if not caller.has_scope(right.scope):
        return Refusal(missing_scope_message(right.scope), "missing_scope")
    return None


def can(caller, project: Project, action: str, obj=None) -> bool:
    return refusal(caller, project, action, obj) is None


def allowed_actions(caller, project: Project) -> list[str]:
    """The actions `caller` may take on anything in the project."""
    return [action for action in RIGHTS if refusal(caller, project, action, EVERYTHING) is None]


def conditional_actions(caller, project: Project) -> dict[str, list[str]]:
    """The actions `caller` may take only on some objects, with the relations that allow
    them there: `{"close_issue": ["reporter"]}` for a reporter."""
    everywhere = set(allowed_actions(caller, project))
    role = project_role(caller, project)
    result = {}
    member = member_role(caller, project) is not None
    for action, right in RIGHTS.items():
        if action in everywhere or role is None or refusal(caller, project, action) is not None:
            continue
        relations = [
            str(relation)
            for relation, minimum in right.relations.items()
            # Only members have a membership of their own to leave.
            if role >= minimum and (relation is not Relation.SELF or member)
        ]
        if relations:
            result[action] = relations
    return result
