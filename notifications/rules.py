"""Who hears of what: one entry per event type.

Each entry names how to find the event's issue and, in order, who hears of it and why:
the first entry that names a person gives their reason, so someone who is mentioned in a
comment hears "mentioned", not also "commented". The actor never hears of their own
change, and nobody hears of an issue they cannot see (services.event_notify applies
both). A new kind of change notifies with one line here, for example:

    "attachment.created": Rule(issue_by_key("issue"), (Hear(participants, Reason.SUBSCRIBED),)),
    "issue.unblocked": Rule(issue_by_id, (Hear(assignee_now, Reason.STATE_CHANGED),
                                          Hear(watchers, Reason.STATE_CHANGED))),

(`issue_by_id` finds the issue by the event data's `id`, `issue_by_key("issue")` by the
key in its `issue`; write another finder for another shape.) Events that share a
`bulk_id` (in `data`, or a column of that name) are mailed together: one mail per person
per bulk change (consumer._bulk_id).

Everything is read from the event (the text before and after an edit, the assignee as
the change left it), so a change notifies the same way whichever path made it: the API
with a login or a personal access token, a bot, the admin, a bulk edit.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.db.models.functions import Lower

from comments.models import Comment
from events.models import Event
from issues.models import Issue
from projects.rights import can

from .mentions import candidates, mentioned_names
from .models import IssueSubscription, ProjectSubscription, Reason

User = get_user_model()


@dataclass
class Change:
    """One event and the issue it is about, with the lookups the audiences share (each
    made once, whatever the number of people)."""

    event: Event
    issue: Issue
    users: dict = field(default_factory=dict)  # id -> User, once loaded (services.py)

    @property
    def data(self) -> dict:
        return self.event.data or {}

    @property
    def changes(self) -> dict:
        return self.event.changes or {}

    @cached_property
    def subscriptions(self) -> dict[int, str]:
        """user id -> IssueSubscription.State, for this issue."""
        rows = IssueSubscription.objects.filter(issue=self.issue).values_list("user_id", "state")
        return dict(rows)

    @cached_property
    def unwatched(self) -> set[int]:
        return {u for u, s in self.subscriptions.items() if s == IssueSubscription.State.UNWATCHED}

    @cached_property
    def project_watchers(self) -> dict[int, str]:
        """user id -> ProjectSubscription.Level, for the issue's project."""
        rows = ProjectSubscription.objects.filter(project_id=self.issue.project_id)
        return dict(rows.values_list("user_id", "level"))

    @cached_property
    def commenters(self) -> set[int]:
        authors = Comment.objects.filter(issue=self.issue, author__isnull=False).order_by()
        return set(authors.values_list("author_id", flat=True).distinct())

    @cached_property
    def participants(self) -> set[int]:
        """Reporter, assignee, commenters, people mentioned in it, its watchers and the
        project's watchers of all activity; not those who unwatched the issue."""
        people = {self.issue.reporter_id, self.issue.assignee_id, *self.commenters}
        people |= {u for u, s in self.subscriptions.items() if s != "unwatched"}
        people |= {u for u, level in self.project_watchers.items() if level == "all"}
        return people - self.unwatched - {None}

    def mentions(self, text_field: str) -> set[int]:
        """Users named in the event's `text_field`, less those named in it before the edit."""
        before = set(mentioned_names(self.changes.get(text_field))) if self.changes else set()
        names = [n for n in mentioned_names(self.data.get(text_field)) if n not in before]
        return self.resolve(names)

    def resolve(self, names: list[str]) -> set[int]:
        if not names:
            return set()
        wanted = {c for name in names for c in candidates(name)}
        found = dict(
            User.objects.annotate(name=Lower("username"))
            .filter(name__in=wanted)
            .values_list("name", "id")
        )
        ids = set()
        for name in names:
            for candidate in candidates(name):
                if candidate in found:
                    ids.add(found[candidate])
                    break
        return ids


Audience = Callable[[Change], set[int]]


# -- audiences -----------------------------------------------------------------------------


def participants(change: Change) -> set[int]:
    return change.participants


def mentioned_in(text_field: str) -> Audience:
    """People newly @mentioned in the event's `text_field` (a description, a body)."""

    def audience(change: Change) -> set[int]:
        return change.mentions(text_field)

    audience.mentions = True  # they become participants (services.py)
    return audience


def new_assignee(change: Change) -> set[int]:
    """The assignee the change gave the issue (on creation, or when it changed)."""
    if change.event.type != Event.Type.ISSUE_CREATED and "assignee" not in change.changes:
        return set()
    assignee = change.data.get("assignee") or {}
    return {assignee["id"]} if assignee.get("id") else set()


def assignee_now(change: Change) -> set[int]:
    """The issue's assignee as it is now."""
    return {change.issue.assignee_id} - {None}


def watchers(change: Change) -> set[int]:
    """Who watches the issue, or its project's every change (not its other participants)."""
    people = {u for u, s in change.subscriptions.items() if s == "watching"}
    people |= {u for u, level in change.project_watchers.items() if level == "all"}
    return people - change.unwatched


def project_watchers_of_new_issues(change: Change) -> set[int]:
    return set(change.project_watchers)  # either level hears of new issues


def entering_review(change: Change) -> set[int]:
    """Participants, when the issue has just entered review with an assignee; the rule's
    `only` keeps those who may review it."""
    data, old = change.data, change.changes.get("status")
    if data.get("status") != Issue.Status.IN_REVIEW or old == Issue.Status.IN_REVIEW:
        return set()
    if not data.get("assignee"):
        return set()
    return change.participants


def may_review(change: Change, user) -> bool:
    """Whether `user` may take the issue out of review (resolve it or request changes),
    as the rights table says: a developer or above other than the assignee."""
    issue = change.issue
    return any(can(user, issue.project, right, issue) for right in REVIEW_RIGHTS)


REVIEW_RIGHTS = ("resolve_issue", "request_changes")


# -- finding the issue ---------------------------------------------------------------------


def issue_by_id(event: Event) -> Q:
    """An issue event: its representation's id."""
    return Q(pk=(event.data or {}).get("id"), project_id=event.project_id)


def issue_by_key(key_field: str) -> Callable[[Event], Q]:
    """An event about something on an issue (a comment): the issue's key in the data."""

    def find(event: Event) -> Q:
        key = str((event.data or {}).get(key_field) or "")
        number = key.rpartition("-")[2]
        if not (number.isascii() and number.isdigit()):
            return Q(pk__in=[])
        return Q(project_id=event.project_id, number=int(number))

    return find


# -- the table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Hear:
    """`who` hears of the change with `reason` (if `only` allows, for each person)."""

    who: Audience
    reason: str
    only: Callable | None = None


@dataclass(frozen=True)
class Rule:
    issue: Callable[[Event], Q]
    hear: tuple[Hear, ...]


RULES: dict[str, Rule] = {
    Event.Type.ISSUE_CREATED: Rule(
        issue_by_id,
        (
            Hear(new_assignee, Reason.ASSIGNED),
            Hear(mentioned_in("description"), Reason.MENTIONED),
            Hear(project_watchers_of_new_issues, Reason.SUBSCRIBED),
        ),
    ),
    Event.Type.ISSUE_UPDATED: Rule(
        issue_by_id,
        (
            Hear(new_assignee, Reason.ASSIGNED),
            Hear(mentioned_in("description"), Reason.MENTIONED),
            Hear(participants, Reason.SUBSCRIBED),
        ),
    ),
    Event.Type.ISSUE_TRANSITIONED: Rule(
        issue_by_id,
        (
            Hear(entering_review, Reason.REVIEW_REQUESTED, only=may_review),
            Hear(participants, Reason.STATE_CHANGED),
        ),
    ),
    Event.Type.COMMENT_CREATED: Rule(
        issue_by_key("issue"),
        (
            Hear(mentioned_in("body"), Reason.MENTIONED),
            Hear(participants, Reason.COMMENTED),
        ),
    ),
    Event.Type.COMMENT_UPDATED: Rule(
        issue_by_key("issue"), (Hear(mentioned_in("body"), Reason.MENTIONED),)
    ),
    # A file on the issue or one of its comments: as a comment would be.
    Event.Type.ATTACHMENT_CREATED: Rule(
        issue_by_key("issue"), (Hear(participants, Reason.SUBSCRIBED),)
    ),
    # Its last open blocker was resolved or closed: whoever would start on it.
    Event.Type.ISSUE_UNBLOCKED: Rule(
        issue_by_id,
        (Hear(assignee_now, Reason.STATE_CHANGED), Hear(watchers, Reason.STATE_CHANGED)),
    ),
}
