"""Real concurrency on PostgreSQL: two requests closing a cycle at the same moment."""

import pytest

from issues.models import IssueRelation
from tests.factories import IssueFactory
from tests.threads import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("type", ["blocks", "parent"])
def test_parallel_opposite_relations_have_one_winner(project, member_of, client_for, type):
    a, b = IssueFactory(project=project), IssueFactory(project=project)
    clients = [client_for(member_of(project, "developer")) for _ in range(2)]

    def relate(client, source, target):
        return lambda: client.post(
            f"/api/v1/issues/{source.key}/relations",
            {"type": type, "issue": target.key},
            format="json",
        )

    responses = race([relate(clients[0], a, b), relate(clients[1], b, a)])

    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 409], [r.content for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["code"] == "relation_cycle"
    assert IssueRelation.objects.count() == 1
