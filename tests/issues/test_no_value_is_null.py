"""A value an issue or an event does not have is null in the API, never "" (the database
keeps ""); writes take null, and "" as before."""

import pytest

from tests.issues.test_workflow_service import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(project, site_admin):
    return build_world(project, site_admin)


def test_an_unresolved_issue_has_a_null_resolution_alone_and_in_lists(world, client_for):
    issue = world.issue("open")
    client = client_for(world.users["maintainer"])

    assert client.get(f"/api/v1/issues/{issue.key}").json()["resolution"] is None
    (row,) = client.get("/api/v1/issues").json()["results"]
    assert (row["key"], row["resolution"]) == (issue.key, None)


@pytest.mark.parametrize("none", [None, ""])
def test_a_transition_takes_null_or_blank_for_no_resolution(world, client_for, none):
    """Resolving without a resolution takes the default, `fixed`; closing from open
    without one is refused, naming the field."""
    client = client_for(world.users["maintainer"])
    review = world.issue("in_review")
    moved = client.post(
        f"/api/v1/issues/{review.key}/status",
        {"status": "resolved", "resolution": none},
        format="json",
    )
    assert (moved.status_code, moved.json()["resolution"]) == (200, "fixed")
    review.refresh_from_db()
    assert review.resolution == "fixed"

    still_open = world.issue("open")
    refused = client.post(
        f"/api/v1/issues/{still_open.key}/status",
        {"status": "closed", "resolution": none},
        format="json",
    )
    assert refused.status_code == 400
    assert [e["field"] for e in refused.json()["errors"]] == ["resolution"]
    still_open.refresh_from_db()
    assert (still_open.status, still_open.resolution) == ("open", "")


def test_an_event_without_a_status_field_or_value_shows_null(world, client_for):
    client = client_for(world.users["maintainer"])
    issue = world.issue("open")
    client.patch(f"/api/v1/issues/{issue.key}", {"labels": []}, format="json")
    client.patch(f"/api/v1/issues/{issue.key}", {"description": "Longer."}, format="json")
    client.post(
        f"/api/v1/issues/{issue.key}/status", {"status": "closed", "resolution": "obsolete"}
    )

    events = client.get(f"/api/v1/issues/{issue.key}/events").json()["results"]

    shown = [
        (e["kind"], e["from_status"], e["to_status"], e["resolution"], e["field"]) for e in events
    ]
    assert shown == [
        ("changed", None, None, None, "description"),
        ("transitioned", "open", "closed", "obsolete", None),
    ]
    assert (events[0]["old_value"], events[0]["new_value"]) == (None, None)
