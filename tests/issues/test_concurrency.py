"""Real concurrency on PostgreSQL: racing transitions of one issue, racing issue creation."""

from itertools import pairwise

import pytest
from django.core.exceptions import ValidationError

from issues import services
from issues.models import Issue, IssueEvent, Label
from projects.models import Project
from tests.factories import IssueFactory
from tests.threads import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


@pytest.fixture
def reviewers(project, member_of):
    return [member_of(project, "developer") for _ in range(THREADS)]


def test_parallel_identical_transitions_through_the_api_have_one_winner(
    project, member_of, reviewers, client_for
):
    issue = IssueFactory(
        project=project, status="in_review", assignee=member_of(project, "developer")
    )
    clients = [client_for(user) for user in reviewers]  # tokens are issued up front

    def resolve(client):
        return lambda: client.post(f"/api/v1/issues/{issue.key}/status", {"status": "resolved"})

    responses = race([resolve(client) for client in clients])

    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * (THREADS - 1), [r.content for r in responses]
    winner = next(r for r in responses if r.status_code == 200)
    assert winner.json()["status"] == "resolved"
    for loser in (r for r in responses if r.status_code == 409):
        body = loser.json()
        assert body["code"] in ("transition_not_allowed", "concurrent_change")
        if body["code"] == "transition_not_allowed":
            assert body["current_status"] == "resolved"
    issue.refresh_from_db()
    assert (issue.status, issue.resolution) == ("resolved", "fixed")
    event = IssueEvent.objects.get(issue=issue, kind=IssueEvent.Kind.TRANSITIONED)
    assert event.actor == reviewers[responses.index(winner)]
    assert (event.from_status, event.to_status) == ("in_review", "resolved")


def test_parallel_conflicting_transitions_through_the_service_have_one_winner(
    project, member_of, reviewers
):
    issue = IssueFactory(
        project=project, status="in_review", assignee=member_of(project, "developer")
    )
    targets = ["resolved", "in_progress"] * (THREADS // 2)

    def attempt(user, target):
        def run():
            try:
                services.issue_transition(
                    issue=issue, user=user, status=target, comment="Racing.", resolution="fixed"
                )
            except (services.TransitionNotAllowed, services.ConcurrentChange) as e:
                return ("refused", target, e.code)
            return ("won", target, None)

        return run

    results = race([attempt(user, t) for user, t in zip(reviewers, targets, strict=True)])

    winners = [r for r in results if r[0] == "won"]
    assert len(winners) == 1, results
    refusals = {code for outcome, _, code in results if outcome == "refused"}
    assert refusals <= {"transition_not_allowed", "concurrent_change"}  # both 409s
    won_target = winners[0][1]
    issue.refresh_from_db()
    assert issue.status == won_target
    events = IssueEvent.objects.filter(issue=issue, kind=IssueEvent.Kind.TRANSITIONED)
    assert [(e.from_status, e.to_status) for e in events] == [("in_review", won_target)]
    # Only the winner's comment was kept; the losers' were rolled back with them.
    assert issue.comments.count() == 1
    assert events.get().comment == issue.comments.get()


def test_parallel_creation_through_the_api_numbers_issues_without_gaps(
    project, member_of, client_for
):
    clients = [client_for(member_of(project, "reporter")) for _ in range(THREADS)]
    per_thread = 3

    def create_some(client, n):
        def run():
            return [
                client.post(
                    f"/api/v1/projects/{project.key}/issues", {"title": f"t{n}.{i}"}, format="json"
                )
                for i in range(per_thread)
            ]

        return run

    batches = race([create_some(client, n) for n, client in enumerate(clients)])

    responses = [r for batch in batches for r in batch]
    assert [r.status_code for r in responses] == [201] * (THREADS * per_thread)
    numbers = sorted(r.json()["number"] for r in responses)
    expected = list(range(1, THREADS * per_thread + 1))
    assert numbers == expected
    assert sorted(Issue.objects.filter(project=project).values_list("number", flat=True)) == (
        expected
    )
    assert sorted(r.json()["key"] for r in responses) == sorted(
        f"{project.key}-{n}" for n in expected
    )
    project.refresh_from_db()
    assert project.last_issue_number == THREADS * per_thread


def test_parallel_creation_with_failures_leaves_no_gaps(project):
    reporter = project.created_by

    def create(n):
        def run():
            try:
                # Every third one fails validation after its number was allocated.
                title = "" if n % 3 == 0 else f"issue {n}"
                return services.issue_create(project=project, reporter=reporter, title=title)
            except ValidationError:
                return None

        return run

    results = race([create(n) for n in range(THREADS * 2)])

    created = [issue for issue in results if issue is not None]
    assert len(created) == len([n for n in range(THREADS * 2) if n % 3])
    assert sorted(issue.number for issue in created) == list(range(1, len(created) + 1))
    assert Project.objects.get(pk=project.pk).last_issue_number == len(created)


def test_parallel_edits_and_a_transition_all_succeed_with_a_consistent_history(
    project, member_of, client_for
):
    assignee = member_of(project, "developer")
    issue = IssueFactory(project=project, title="v0", assignee=assignee)
    editors = [client_for(member_of(project, "developer")) for _ in range(THREADS - 1)]

    def edit(client, n):
        return lambda: client.patch(
            f"/api/v1/issues/{issue.key}", {"title": f"v{n}"}, format="json"
        )

    def start():
        return client_for(assignee).post(
            f"/api/v1/issues/{issue.key}/status", {"status": "in_progress"}
        )

    responses = race([start, *(edit(c, n) for n, c in enumerate(editors, start=1))])

    assert [r.status_code for r in responses] == [200] * THREADS, [r.content for r in responses]
    issue.refresh_from_db()
    assert issue.status == "in_progress"  # no stale edit wrote the old status back
    changes = list(issue.events.filter(field="title").order_by("id"))
    assert len(changes) == THREADS - 1
    # Each edit saw the one before it: old values chain from v0 to the final title.
    assert changes[0].old_value == "v0"
    for before, after in pairwise(changes):
        assert after.old_value == before.new_value
    assert changes[-1].new_value == issue.title
    assert issue.events.filter(kind=IssueEvent.Kind.TRANSITIONED).count() == 1


def test_parallel_service_edits_from_stale_copies_chain_their_history(project, member_of):
    """The service itself locks and re-reads: callers holding copies loaded before
    the race (the admin, commands) neither lose a transition nor record stale old values."""
    assignee = member_of(project, "developer")
    issue = IssueFactory(project=project, title="v0", assignee=assignee)
    copies = [Issue.objects.get(pk=issue.pk) for _ in range(THREADS)]

    def start():
        services.issue_transition(issue=copies[0], user=assignee, status="in_progress")

    def edit(n):
        return lambda: services.issue_update(issue=copies[n], actor=assignee, title=f"v{n}")

    race([start, *(edit(n) for n in range(1, THREADS))])

    issue.refresh_from_db()
    assert issue.status == "in_progress"
    changes = list(issue.events.filter(field="title").order_by("id"))
    assert len(changes) == THREADS - 1
    assert changes[0].old_value == "v0"
    for before, after in pairwise(changes):
        assert after.old_value == before.new_value
    assert changes[-1].new_value == issue.title


def test_parallel_label_creation_with_one_name_makes_one_label(project, member_of, client_for):
    clients = [client_for(member_of(project, "maintainer")) for _ in range(THREADS)]

    def create(client, n):
        name = "Bug" if n % 2 else "bug"
        return lambda: client.post(
            f"/api/v1/projects/{project.key}/labels", {"name": name}, format="json"
        )

    responses = race([create(client, n) for n, client in enumerate(clients)])

    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [400] * (THREADS - 1), [r.content for r in responses]
    for refused in (r for r in responses if r.status_code == 400):
        assert [e["field"] for e in refused.json()["errors"]] == ["name"]
    assert Label.objects.filter(project=project).count() == 1
