"""The workflow through `issue_transition` itself: every allowed step and every refusal.

The tables here (transitions, who may take them, what they need) are the issue's
workflow table written out; test_workflow_api.py runs the same tables through the API.
"""

from dataclasses import dataclass, field

import pytest
from django.core.exceptions import ValidationError

from api.errors import Conflict, NotAllowed
from comments.models import Comment
from issues import services
from issues.models import Issue, IssueEvent
from projects.models import Role
from projects.rights import RIGHTS
from projects.services import ProjectArchived
from tests.factories import IssueFactory, MembershipFactory, UserFactory


def refusal_of(name: str) -> str:
    """What the rights table tells those who may not take transition `name`."""
    transition = next(
        t for t in Issue._meta.get_field("status").get_all_transitions(Issue) if t.name == name
    )
    return RIGHTS[transition.permission.action].refusal


pytestmark = pytest.mark.django_db

STATUSES = [status.value for status in Issue.Status]

# (transition, source, target): every edge of the workflow.
TRANSITIONS = [
    ("start", "open", "in_progress"),
    ("stop", "in_progress", "open"),
    ("submit_for_review", "in_progress", "in_review"),
    ("request_changes", "in_review", "in_progress"),
    ("resolve", "in_review", "resolved"),
    ("close", "open", "closed"),
    ("close", "in_progress", "closed"),
    ("close", "in_review", "closed"),
    ("close", "resolved", "closed"),
    ("reopen", "resolved", "open"),
    ("reopen", "closed", "open"),
]
EDGES = {(source, target) for _, source, target in TRANSITIONS}
REACHABLE = {
    status: sorted(target for source, target in EDGES if source == status) for status in STATUSES
}

# Every way a signed-in project member can stand towards an issue.
ACTORS = [
    "viewer",
    "reporter",  # reporter role, did not report this issue
    "issue_reporter",  # reporter role, reported this issue
    "developer",  # not the assignee
    "assignee",  # developer, assigned to this issue
    "maintainer_assignee",  # maintainer, assigned to this issue
    "maintainer",
    "owner",
    "site_admin",
]
REVIEWERS = {"developer", "maintainer_assignee", "maintainer", "owner", "site_admin"}
MAY = {
    "start": {"assignee", "maintainer_assignee", "maintainer", "owner", "site_admin"},
    "stop": {"assignee", "maintainer_assignee", "maintainer", "owner", "site_admin"},
    "submit_for_review": {"assignee", "maintainer_assignee", "site_admin"},
    "request_changes": REVIEWERS,
    "resolve": REVIEWERS,
    "close": {"issue_reporter", "maintainer_assignee", "maintainer", "owner", "site_admin"},
    "reopen": {
        "issue_reporter",
        "developer",
        "assignee",
        "maintainer_assignee",
        "maintainer",
        "owner",
        "site_admin",
    },
}

ALLOWED = [
    (name, source, target, kind)
    for name, source, target in TRANSITIONS
    for kind in ACTORS
    if kind in MAY[name]
]
FORBIDDEN = [
    (name, source, target, kind)
    for name, source, target in TRANSITIONS
    for kind in ACTORS
    if kind not in MAY[name]
]
WRONG_STATE = [
    (source, target) for source in STATUSES for target in STATUSES if (source, target) not in EDGES
]


def edge_id(case) -> str:
    return "-".join(case)


def inputs(name: str, source: str) -> dict:
    """What a transition needs from the caller when taken from `source`."""
    if name == "request_changes" or (name == "reopen" and source == "closed"):
        return {"comment": f"Why: {name} from {source}."}
    if name == "close" and source != "resolved":
        return {"resolution": "wont_fix"}
    return {}


def requires(name: str, source: str) -> list[str]:
    """What the transitions endpoint lists as inputs: resolve names its resolution,
    which defaults to fixed."""
    return ["resolution"] if name == "resolve" else sorted(inputs(name, source))


@dataclass
class World:
    """A private project with one user per actor kind, and issues in any status."""

    project: object
    users: dict = field(default_factory=dict)

    def issue(self, status="open", kind="developer", assignee=True, **fields) -> Issue:
        """An issue in `status`, reported by `issue_reporter` and assigned to the
        assignee that `kind` implies (unless `assignee` is False)."""
        if assignee:
            who = "maintainer_assignee" if kind == "maintainer_assignee" else "assignee"
            fields.setdefault("assignee", self.users[who])
        if status in ("resolved", "closed"):
            fields.setdefault("resolution", "fixed")
        return IssueFactory(
            project=self.project, reporter=self.users["issue_reporter"], status=status, **fields
        )


def build_world(project, site_admin) -> World:
    world = World(project=project)
    roles = {
        "viewer": Role.VIEWER,
        "reporter": Role.REPORTER,
        "issue_reporter": Role.REPORTER,
        "developer": Role.DEVELOPER,
        "assignee": Role.DEVELOPER,
        "maintainer_assignee": Role.MAINTAINER,
        "maintainer": Role.MAINTAINER,
    }
    for kind, role in roles.items():
        user = UserFactory(username=f"{kind}_{project.key.lower()}")
        MembershipFactory(project=project, user=user, role=role)
        world.users[kind] = user
    world.users["owner"] = project.created_by
    world.users["site_admin"] = site_admin
    return world


@pytest.fixture
def world(project, site_admin):
    return build_world(project, site_admin)


def state(issue: Issue) -> tuple:
    """What a refused transition must leave alone."""
    issue.refresh_from_db()
    return (
        issue.status,
        issue.resolution,
        issue.resolved_at,
        issue.closed_at,
        issue.events.count(),
        issue.comments.count(),
    )


# -- allowed ----------------------------------------------------------------------------


@pytest.mark.parametrize("name,source,target,kind", ALLOWED, ids=map(edge_id, ALLOWED))
def test_allowed_transition(world, name, source, target, kind):
    issue = world.issue(source, kind)
    actor = world.users[kind]
    given = inputs(name, source)

    result = services.issue_transition(issue=issue, user=actor, status=target, **given)

    assert result.status == target
    issue.refresh_from_db()
    assert issue.status == target
    event = IssueEvent.objects.get(issue=issue)
    assert event.kind == IssueEvent.Kind.TRANSITIONED
    assert (event.actor, event.from_status, event.to_status) == (actor, source, target)
    assert event.resolution == issue.resolution
    if "comment" in given:
        assert event.comment is not None
        assert (event.comment.body, event.comment.author) == (given["comment"], actor)
        assert list(issue.comments.all()) == [event.comment]
    else:
        assert event.comment is None
        assert not issue.comments.exists()


@pytest.mark.parametrize("name,source,target", TRANSITIONS, ids=map(edge_id, TRANSITIONS))
def test_resolution_and_timestamps_follow_the_status(world, name, source, target):
    issue = world.issue(source)
    before = (issue.resolution, issue.resolved_at, issue.closed_at)
    services.issue_transition(
        issue=issue, user=world.users["site_admin"], status=target, **inputs(name, source)
    )
    issue.refresh_from_db()
    if target == "resolved":
        assert issue.resolution == "fixed"  # the default when none is given
        assert issue.resolved_at is not None
        assert issue.closed_at is None
    elif target == "closed":
        # Closing a resolved issue keeps its resolution; otherwise the given one.
        assert issue.resolution == ("fixed" if source == "resolved" else "wont_fix")
        assert issue.closed_at is not None
        assert issue.resolved_at == before[1]
    elif name == "reopen":
        assert (issue.resolution, issue.resolved_at, issue.closed_at) == ("", None, None)
    else:
        assert (issue.resolution, issue.resolved_at, issue.closed_at) == before == ("", None, None)


@pytest.mark.parametrize("resolution", [r.value for r in Issue.Resolution])
def test_resolve_and_close_record_the_given_resolution(world, resolution):
    reviewer = world.users["developer"]
    # A duplicate names the issue it duplicates (tests/relations).
    original = {"duplicate_of": world.issue("open").key} if resolution == "duplicate" else {}
    resolved = world.issue("in_review")
    services.issue_transition(
        issue=resolved, user=reviewer, status="resolved", resolution=resolution, **original
    )
    closed = world.issue("open")
    services.issue_transition(
        issue=closed,
        user=world.users["maintainer"],
        status="closed",
        resolution=resolution,
        **original,
    )
    for issue in (resolved, closed):
        issue.refresh_from_db()
        assert issue.resolution == resolution
        assert issue.events.get(kind="transitioned").resolution == resolution


def test_closing_a_resolved_issue_may_change_its_resolution(world):
    issue = world.issue("resolved")
    services.issue_transition(
        issue=issue, user=world.users["maintainer"], status="closed", resolution="obsolete"
    )
    issue.refresh_from_db()
    assert (issue.status, issue.resolution) == ("closed", "obsolete")


def test_a_comment_given_to_any_transition_is_kept_and_linked(world):
    issue = world.issue("open")
    actor = world.users["assignee"]
    services.issue_transition(issue=issue, user=actor, status="in_progress", comment="On it.")
    event = issue.events.get()
    assert event.comment.body == "On it."
    assert event.comment.issue == issue
    # The transition records the comment itself: no separate "commented" entry.
    assert not issue.events.filter(kind=IssueEvent.Kind.COMMENTED).exists()


def test_a_whole_lifecycle_leaves_a_complete_history(world):
    issue = world.issue("open")
    steps = [
        ("assignee", "in_progress", {}),
        ("assignee", "in_review", {}),
        ("developer", "in_progress", {"comment": "Needs tests."}),
        ("assignee", "in_review", {}),
        ("maintainer", "resolved", {"resolution": "fixed"}),
        ("issue_reporter", "closed", {}),
        ("issue_reporter", "open", {"comment": "It is back."}),
    ]
    for kind, target, given in steps:
        services.issue_transition(issue=issue, user=world.users[kind], status=target, **given)
    history = list(issue.events.values_list("actor__username", "from_status", "to_status"))
    assert history == [
        (world.users["assignee"].username, "open", "in_progress"),
        (world.users["assignee"].username, "in_progress", "in_review"),
        (world.users["developer"].username, "in_review", "in_progress"),
        (world.users["assignee"].username, "in_progress", "in_review"),
        (world.users["maintainer"].username, "in_review", "resolved"),
        (world.users["issue_reporter"].username, "resolved", "closed"),
        (world.users["issue_reporter"].username, "closed", "open"),
    ]
    issue.refresh_from_db()
    assert (issue.status, issue.resolution) == ("open", "")
    assert issue.comments.count() == 2


# -- refused: wrong state, wrong role, rule not met, missing input ----------------------


@pytest.mark.parametrize("source,target", WRONG_STATE, ids=map(edge_id, WRONG_STATE))
def test_wrong_state_is_a_conflict_naming_the_reachable_statuses(world, source, target):
    issue = world.issue(source)
    before = state(issue)
    with pytest.raises(services.TransitionNotAllowed) as raised:
        services.issue_transition(
            issue=issue,
            user=world.users["site_admin"],
            status=target,
            resolution="fixed",
            comment="Because.",
        )
    assert isinstance(raised.value, Conflict)  # a 409 through the API
    assert raised.value.code == "transition_not_allowed"
    extra = raised.value.extra
    assert extra["current_status"] == source
    assert sorted(extra["allowed_statuses"]) == REACHABLE[source]
    assert f"from {source} to {target}" in str(raised.value.message)
    assert state(issue) == before


@pytest.mark.parametrize("name,source,target,kind", FORBIDDEN, ids=map(edge_id, FORBIDDEN))
def test_forbidden_for_the_role(world, name, source, target, kind):
    issue = world.issue(source, kind)
    before = state(issue)
    with pytest.raises(NotAllowed) as raised:
        services.issue_transition(
            issue=issue, user=world.users[kind], status=target, **inputs(name, source)
        )
    assert raised.value.code == "permission_denied"  # a 403 through the API
    assert raised.value.message == refusal_of(name)
    assert raised.value.extra == {"current_status": source, "rule": name}
    assert state(issue) == before


@pytest.mark.parametrize("visibility", ["internal", "private"])
def test_non_members_may_not_transition(world, visibility):
    world.project.visibility = visibility
    world.project.save()
    issue = world.issue("in_review")
    before = state(issue)
    with pytest.raises(NotAllowed):
        services.issue_transition(issue=issue, user=UserFactory(), status="resolved")
    assert state(issue) == before


def test_demoted_assignee_may_no_longer_work_the_issue(world):
    issue = world.issue("open")
    assignee = world.users["assignee"]
    assignee.memberships.update(role=Role.REPORTER)
    with pytest.raises(NotAllowed):
        services.issue_transition(issue=issue, user=assignee, status="in_progress")
    assert state(issue)[0] == "open"


def test_inactive_users_may_not_transition(world):
    issue = world.issue("open")
    owner = world.users["owner"]
    owner.is_active = False
    owner.save()
    with pytest.raises(NotAllowed):
        services.issue_transition(issue=issue, user=owner, status="in_progress")
    assert state(issue)[0] == "open"


@pytest.mark.parametrize("kind", ["maintainer", "owner", "site_admin"])
def test_start_needs_an_assignee(world, kind):
    issue = world.issue("open", assignee=False)
    before = state(issue)
    with pytest.raises(services.TransitionRuleNotMet) as raised:
        services.issue_transition(issue=issue, user=world.users[kind], status="in_progress")
    assert isinstance(raised.value, Conflict)
    assert raised.value.code == "rule_not_met"
    assert str(raised.value.message) == "The issue must have an assignee."
    assert raised.value.extra == {"current_status": "open", "rule": "start"}
    assert state(issue) == before


MISSING_INPUT = [
    ("request_changes", "in_review", "in_progress", "comment"),
    ("close", "open", "closed", "resolution"),
    ("close", "in_progress", "closed", "resolution"),
    ("close", "in_review", "closed", "resolution"),
    ("reopen", "closed", "open", "comment"),
]
# What each refusal says, in words rather than the transition's name.
MISSING_INPUT_MESSAGES = {
    "request_changes": "A comment explaining why is required to request changes.",
    "close": "A resolution is required to close this issue.",
    "reopen": "A comment explaining why is required to reopen this issue.",
}


@pytest.mark.parametrize(
    "name,source,target,needed", MISSING_INPUT, ids=map(edge_id, MISSING_INPUT)
)
@pytest.mark.parametrize("given", ["", "   \n"])
def test_missing_input_names_the_field(world, name, source, target, needed, given):
    issue = world.issue(source)
    before = state(issue)
    supplied = {"resolution": "fixed", "comment": "Because."}
    supplied[needed] = given if needed == "comment" else ""
    with pytest.raises(ValidationError) as raised:
        services.issue_transition(
            issue=issue, user=world.users["site_admin"], status=target, **supplied
        )
    assert list(raised.value.message_dict) == [needed]
    assert raised.value.message_dict[needed] == [MISSING_INPUT_MESSAGES[name]]
    assert state(issue) == before


@pytest.mark.parametrize("name,source,target", TRANSITIONS, ids=map(edge_id, TRANSITIONS))
def test_archived_projects_refuse_every_transition(world, name, source, target):
    issue = world.issue(source)
    world.project.archived_at = issue.created_at
    world.project.save()
    before = state(issue)
    with pytest.raises(ProjectArchived) as raised:
        services.issue_transition(
            issue=issue, user=world.users["site_admin"], status=target, **inputs(name, source)
        )
    assert isinstance(raised.value, NotAllowed)
    assert raised.value.code == "project_archived"
    assert state(issue) == before


def test_the_stored_status_decides_not_the_callers_copy(world):
    """A stale in-memory issue cannot replay a transition someone else already took."""
    issue = world.issue("in_review")
    stale = Issue.objects.get(pk=issue.pk)
    services.issue_transition(issue=issue, user=world.users["developer"], status="resolved")
    with pytest.raises(services.TransitionNotAllowed) as raised:
        services.issue_transition(issue=stale, user=world.users["maintainer"], status="resolved")
    assert raised.value.extra["current_status"] == "resolved"
    assert issue.events.count() == 1


def test_an_edit_from_a_stale_copy_keeps_the_new_status(world):
    """Editing a copy loaded before a transition neither fails nor undoes the transition."""
    issue = world.issue("in_review")
    stale = Issue.objects.get(pk=issue.pk)
    services.issue_transition(issue=issue, user=world.users["developer"], status="resolved")
    services.issue_update(issue=stale, actor=world.users["developer"], title="Retitled")
    issue.refresh_from_db()
    assert (issue.status, issue.resolution, issue.title) == ("resolved", "fixed", "Retitled")
    assert [e.kind for e in issue.events.all()] == ["transitioned", "changed"]


def test_status_cannot_be_assigned_directly(world):
    issue = world.issue("open")
    with pytest.raises(AttributeError):
        issue.status = "closed"
    # issue_update changes the tracked fields only; a status among them is ignored.
    services.issue_update(issue=issue, actor=world.users["owner"], status="closed")
    issue.refresh_from_db()
    assert issue.status == "open"


# -- the options a caller is offered ----------------------------------------------------


@pytest.mark.parametrize("source", STATUSES)
@pytest.mark.parametrize("kind", ACTORS)
def test_transition_options_agree_with_the_service(world, source, kind):
    issue = world.issue(source, kind)
    options = services.issue_available_transitions(issue=issue, user=world.users[kind])
    assert sorted(o.target for o in options) == REACHABLE[source]
    for option in options:
        assert option.allowed == (kind in MAY[option.name])
        assert (option.reason is None) == option.allowed
        assert option.requires == requires(option.name, source)


def test_transition_options_say_why_not(world):
    issue = world.issue("open", assignee=False)
    options = {
        o.name: o
        for o in services.issue_available_transitions(issue=issue, user=world.users["owner"])
    }
    assert options["start"].allowed is False
    assert options["start"].reason == "The issue must have an assignee."
    assert options["close"].allowed is True
    assert options["close"].requires == ["resolution"]
    viewer = {
        o.name: o
        for o in services.issue_available_transitions(issue=issue, user=world.users["viewer"])
    }
    assert (
        viewer["start"].reason
        == "Only the assignee, or a maintainer or owner, may start work on this issue."
    )
    assert viewer["close"].reason == (
        "Only the issue's reporter, or a maintainer or owner, may close this issue."
    )


def test_transition_options_on_an_archived_project(world):
    issue = world.issue("open")
    world.project.archived_at = issue.created_at
    world.project.save()
    options = services.issue_available_transitions(issue=issue, user=world.users["owner"])
    assert [o.allowed for o in options] == [False, False]
    assert {o.reason for o in options} == {"This project is archived and read-only."}


def test_transition_comment_is_a_real_comment(world):
    issue = world.issue("in_review")
    services.issue_transition(
        issue=issue, user=world.users["developer"], status="in_progress", comment="Fix the typo."
    )
    comment = Comment.objects.get(issue=issue)
    assert comment.author == world.users["developer"]
    assert comment.edited is False
