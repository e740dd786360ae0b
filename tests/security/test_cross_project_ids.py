"""One project's objects named from another project's URL (issue #22).

Every operation of the schema under /projects/{project_key}/ that names a nested object
(members, bots and their tokens, labels, webhooks, their deliveries, and whatever is added
later) is asked, by project B's owner through B's URL, with one of its ids or names taken
from project A (the others from B): the answer is exactly the one for an id or name that
does not exist there, and nothing changes in either project. A path parameter nobody taught
`url_filler` makes this test fail, so a new nested resource cannot skip it.
"""

import re

import pytest

from projects.models import Role
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.security.contract import generate_schema, schema_operations, url_filler
from tests.state import EVERY_MODEL, database_state

pytestmark = pytest.mark.django_db

PREFIX = "/api/v1/projects/{project_key}/"
MISSING = {
    "label_id": "999999",
    "webhook_id": "999999",
    "delivery_id": "999999",
    "token_id": "999999",
    "username": "nobody-zz",
}
# A valid body for each write, so that only the object named decides the answer.
BODIES = {
    ("post", "tokens"): {"name": "planted", "scopes": ["read"]},
    ("patch", "{label_id}"): {"name": "stolen"},
    ("patch", "{username}"): {"role": "viewer"},
    ("patch", "{webhook_id}"): {"description": "stolen"},
}


def nested_operations():
    for path, method, _ in schema_operations(generate_schema()):
        if path.startswith(PREFIX) and "{" in path[len(PREFIX) :] and method != "head":
            yield path, method


def project_with_objects(key, owner):
    project = ProjectFactory(key=key, visibility="private", created_by=owner)
    MembershipFactory(project=project, user=owner, role=Role.OWNER)
    member = UserFactory(username=f"{key.lower()}-dev")
    MembershipFactory(project=project, user=member, role=Role.DEVELOPER)
    return project, url_filler(project, owner, member)


def variants(path, fill_a, fill_b):
    """(name of the parameter from A, URL with it from A, URL with it missing); every other
    parameter names B's own object."""
    template = path.split("/")
    from_a, from_b = fill_a(path).split("/"), fill_b(path).split("/")
    names = [m.group(1) for m in re.finditer(r"\{(\w+)\}", path)]
    for name in names[1:]:  # project_key is always B's
        position = template.index("{" + name + "}")
        values = [
            a if i == position else b for i, (a, b) in enumerate(zip(from_a, from_b, strict=True))
        ]
        missing = [MISSING[name] if i == position else b for i, b in enumerate(from_b)]
        yield name, "/".join(values), "/".join(missing)


def body_for(method, path):
    return next(
        (body for (m, end), body in BODIES.items() if m == method and path.endswith(end)), None
    )


def comparable(response) -> tuple:
    body = response.json() if response.content else None
    if isinstance(body, dict):
        body = {**body, "instance": ""}
    return response.status_code, response.get("Content-Type"), body


def test_another_projects_objects_answer_as_missing_ones_through_this_projects_urls(
    client_for,
):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    a, fill_a = project_with_objects("APROJ", alice)
    b, fill_b = project_with_objects("BPROJ", bob)
    client = client_for(bob)
    before = database_state(EVERY_MODEL)
    walked = set()

    for path, method in nested_operations():
        body = body_for(method, path)
        for name, foreign, missing in variants(path, fill_a, fill_b):
            foreign = foreign.replace(f"/{a.key}/", f"/{b.key}/")
            hidden = getattr(client, method)(foreign, body, format="json")
            absent = getattr(client, method)(missing, body, format="json")
            assert hidden.status_code == 404, (method, foreign, hidden.content)
            assert comparable(hidden) == comparable(absent), (method, foreign, missing)
            walked.add((method, path, name))

    assert database_state(EVERY_MODEL) == before
    # The walk reached every kind of nested object the issue names, each by every parameter.
    assert {
        ("delete", PREFIX + "bots/{username}/tokens/{token_id}", "token_id"),
        ("delete", PREFIX + "bots/{username}/tokens/{token_id}", "username"),
        ("post", PREFIX + "bots/{username}/tokens", "username"),
        ("patch", PREFIX + "members/{username}", "username"),
        ("delete", PREFIX + "labels/{label_id}", "label_id"),
        ("patch", PREFIX + "webhooks/{webhook_id}", "webhook_id"),
        ("post", PREFIX + "webhooks/{webhook_id}/ping", "webhook_id"),
        (
            "post",
            PREFIX + "webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
            "delivery_id",
        ),
    } <= walked


def test_the_same_urls_reach_each_projects_own_objects(client_for):
    """The URLs above are real: with B's own objects, B's owner reads every one of them."""
    bob = UserFactory(username="bob")
    _, fill_b = project_with_objects("BPROJ", bob)
    client = client_for(bob)
    for path, method in nested_operations():
        if method == "get":
            response = client.get(fill_b(path))
            assert response.status_code == 200, (path, response.content)
