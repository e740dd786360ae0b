"""HTTP semantics: ETag and If-None-Match (304), If-Match (412, nothing changed),
Idempotency-Key (replay, 422 on a different body), RateLimit-* and Retry-After,
Cache-Control, 413 for large bodies, 400 for JSON that does not parse."""

import pytest
from django.conf import settings
from django.test import Client, override_settings

from api import idempotency
from comments.models import Comment
from issues.models import Issue, IssueEvent
from projects.models import Project
from tests.factories import CommentFactory, IssueFactory, LabelFactory, UserFactory
from tests.state import database_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue(project, owner):
    return IssueFactory(project=project, title="Original", assignee=owner, reporter=owner)


@pytest.fixture
def comment(issue, owner):
    return CommentFactory(issue=issue, author=owner, body="First words")


@pytest.fixture
def label(project):
    return LabelFactory(project=project, name="backend")


def issue_state(issue) -> tuple:
    fresh = Issue.objects.get(pk=issue.pk)
    return (
        fresh.title,
        fresh.status,
        fresh.updated_at,
        IssueEvent.objects.filter(issue=fresh).count(),
    )


@pytest.fixture
def urls(project, issue, comment, label, developer):
    """The URL of each kind of resource a client can change."""
    return {
        "me": "/api/v1/me",
        "issue": f"/api/v1/issues/{issue.key}",
        "project": f"/api/v1/projects/{project.key}",
        "comment": f"/api/v1/comments/{comment.pk}",
        "label": f"/api/v1/projects/{project.key}/labels/{label.pk}",
        "member": f"/api/v1/projects/{project.key}/members/{developer.username}",
    }


# A change to each kind of resource: (field, new value).
CHANGES = {
    "me": ("display_name", "Changed"),
    "issue": ("title", "Changed"),
    "project": ("name", "Changed"),
    "comment": ("body", "Changed"),
    "label": ("name", "changed"),
    "member": ("role", "maintainer"),
}
KINDS = list(CHANGES)
# (kind, method) of every change that honours If-Match; /me cannot be deleted.
WRITES = [(kind, "patch") for kind in KINDS] + [(k, "delete") for k in KINDS if k != "me"]


def write(owner_client, url, kind, method, **headers):
    if method == "delete":
        return owner_client.delete(url, **headers)
    field, value = CHANGES[kind]
    return owner_client.patch(url, {field: value}, format="json", **headers)


# -- ETag and If-None-Match ---------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_details_carry_a_strong_etag_and_answer_304_to_it(urls, owner_client, kind):
    url = urls[kind]
    first = owner_client.get(url)
    tag = first["ETag"]
    assert first.status_code == 200
    assert tag.startswith('"') and tag.endswith('"') and len(tag) > 10  # strong: no W/
    assert owner_client.get(url)["ETag"] == tag  # the same representation, the same tag

    cached = owner_client.get(url, HTTP_IF_NONE_MATCH=tag)
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached["ETag"] == tag

    listed = owner_client.get(url, HTTP_IF_NONE_MATCH=f'"something-else", {tag}')
    assert listed.status_code == 304

    stale = owner_client.get(url, HTTP_IF_NONE_MATCH='"something-else"')
    assert stale.status_code == 200
    assert stale.json() == first.json()


@pytest.mark.parametrize("kind", KINDS)
def test_a_change_gives_a_new_etag_and_the_old_one_gets_a_full_answer(urls, owner_client, kind):
    url = urls[kind]
    old = owner_client.get(url)["ETag"]
    patched = write(owner_client, url, kind, "patch")
    assert patched.status_code == 200, patched.content
    after = owner_client.get(url, HTTP_IF_NONE_MATCH=old)
    assert after.status_code == 200
    assert after["ETag"] != old
    assert after["ETag"] == patched["ETag"]  # the PATCH answer's tag is the new state's
    field, value = CHANGES[kind]
    assert after.json()[field] == value


@pytest.mark.parametrize("header", ['W/"{tag}"', '"other", W/"{tag}"', "*"])
def test_if_none_match_compares_weakly_and_takes_a_star(urls, owner_client, header):
    tag = owner_client.get(urls["label"])["ETag"].strip('"')
    response = owner_client.get(urls["label"], HTTP_IF_NONE_MATCH=header.format(tag=tag))
    assert response.status_code == 304
    assert response.content == b""


def test_a_list_etag_covers_the_whole_page(project, label, owner_client):
    url = f"/api/v1/projects/{project.key}/labels"
    first = owner_client.get(url, {"page_size": 1})
    tag = first["ETag"]
    assert first.json()["count"] == 1
    cached = owner_client.get(url, {"page_size": 1}, HTTP_IF_NONE_MATCH=tag)
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached["ETag"] == tag

    # A label on the next page changes no row of this one, but the count and the links.
    LabelFactory(project=project, name="zzz")
    after = owner_client.get(url, {"page_size": 1}, HTTP_IF_NONE_MATCH=tag)
    assert after.status_code == 200
    assert after.json()["results"] == first.json()["results"]
    assert after.json()["count"] == 2
    assert after["ETag"] != tag
    second_page = owner_client.get(url, {"page_size": 1, "page": 2})
    assert second_page["ETag"] not in (tag, after["ETag"])


def test_errors_and_the_browsable_api_carry_no_etag(project, issue, owner_client):
    assert "ETag" not in owner_client.get(f"/api/v1/issues/{project.key}-999")
    assert "ETag" not in owner_client.get("/api/v1/issues", {"status": "nonsense"})
    # The HTML page is another representation of the same resource: the JSON's strong tag
    # must not name it, so it has none and a 304 never answers for it.
    url = f"/api/v1/projects/{project.key}"
    tag = owner_client.get(url)["ETag"]
    html = owner_client.get(url, HTTP_ACCEPT="text/html", HTTP_IF_NONE_MATCH=tag)
    assert html.status_code == 200
    assert "ETag" not in html
    assert project.name.encode() in html.content


# -- If-Match -----------------------------------------------------------------------------


@pytest.mark.parametrize("precondition", ['"stale"', 'W/"{tag}"', '"{tag}x"'])
def test_an_issue_patch_with_a_stale_if_match_is_a_412_and_changes_nothing(
    issue, owner_client, precondition
):
    tag = owner_client.get(f"/api/v1/issues/{issue.key}")["ETag"].strip('"')
    before = issue_state(issue)
    response = owner_client.patch(
        f"/api/v1/issues/{issue.key}",
        {"title": "Lost update"},
        format="json",
        HTTP_IF_MATCH=precondition.format(tag=tag),
    )
    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"
    assert issue_state(issue) == before


def test_an_issue_changed_since_it_was_read_is_a_412(
    issue, owner_client, client_for, project, member_of
):
    tag = owner_client.get(f"/api/v1/issues/{issue.key}")["ETag"]
    other = client_for(member_of(project, "maintainer"))
    theirs = other.patch(f"/api/v1/issues/{issue.key}", {"title": "Theirs"}, format="json")
    assert theirs.status_code == 200, theirs.content
    before = issue_state(issue)
    response = owner_client.patch(
        f"/api/v1/issues/{issue.key}", {"title": "Mine"}, format="json", HTTP_IF_MATCH=tag
    )
    assert response.status_code == 412
    assert issue_state(issue) == before
    assert before[0] == "Theirs"


@pytest.mark.parametrize("precondition", ["current", "listed", "*", None])
def test_an_issue_patch_with_a_matching_or_no_if_match_proceeds(issue, owner_client, precondition):
    tag = owner_client.get(f"/api/v1/issues/{issue.key}")["ETag"]
    headers = {
        "current": {"HTTP_IF_MATCH": tag},
        "listed": {"HTTP_IF_MATCH": f'"nope", {tag}'},
        "*": {"HTTP_IF_MATCH": "*"},
        None: {},
    }[precondition]
    response = owner_client.patch(
        f"/api/v1/issues/{issue.key}", {"title": "Kept"}, format="json", **headers
    )
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Kept"
    assert Issue.objects.get(pk=issue.pk).title == "Kept"


def test_a_status_change_with_a_stale_if_match_is_a_412_and_changes_nothing(issue, owner_client):
    url = f"/api/v1/issues/{issue.key}"
    tag = owner_client.get(url)["ETag"]
    owner_client.patch(url, {"description": "Edited meanwhile"}, format="json")
    before = issue_state(issue)
    response = owner_client.post(
        f"{url}/status", {"status": "in_progress"}, format="json", HTTP_IF_MATCH=tag
    )
    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"
    assert issue_state(issue) == before
    assert before[1] == "open"


def test_a_status_change_with_the_current_if_match_proceeds(issue, owner_client):
    url = f"/api/v1/issues/{issue.key}"
    tag = owner_client.get(url)["ETag"]
    response = owner_client.post(
        f"{url}/status", {"status": "in_progress"}, format="json", HTTP_IF_MATCH=tag
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "in_progress"
    assert Issue.objects.get(pk=issue.pk).status == "in_progress"
    assert response["ETag"] != tag
    # ... and without If-Match the next step simply proceeds
    response = owner_client.post(f"{url}/status", {"status": "open"}, format="json")
    assert response.status_code == 200, response.content
    assert Issue.objects.get(pk=issue.pk).status == "open"


def assert_precondition_failed(response, url) -> None:
    assert response.status_code == 412, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Precondition Failed",
        "status": 412,
        "detail": "The resource has changed since you read it (If-Match did not match).",
        "code": "precondition_failed",
        "instance": url,
    }


@pytest.mark.parametrize(("kind", "method"), WRITES)
@pytest.mark.parametrize("precondition", ['"stale"', 'W/"{tag}"', '"{tag}x"'])
def test_a_write_with_a_stale_if_match_is_a_412_and_changes_nothing(
    urls, owner_client, kind, method, precondition
):
    url = urls[kind]
    tag = owner_client.get(url)["ETag"].strip('"')
    before = database_state()
    response = write(owner_client, url, kind, method, HTTP_IF_MATCH=precondition.format(tag=tag))
    assert_precondition_failed(response, url)
    assert database_state() == before


@pytest.mark.parametrize(("kind", "method"), WRITES)
def test_a_write_to_what_changed_since_it_was_read_is_a_412(urls, owner_client, kind, method):
    url = urls[kind]
    tag = owner_client.get(url)["ETag"]
    meanwhile = write(owner_client, url, kind, "patch")  # someone else's change, without If-Match
    assert meanwhile.status_code == 200, meanwhile.content
    before = database_state()
    response = write(owner_client, url, kind, method, HTTP_IF_MATCH=tag)
    assert_precondition_failed(response, url)
    assert database_state() == before


@pytest.mark.parametrize(("kind", "method"), WRITES)
@pytest.mark.parametrize("precondition", ["current", "listed", "*", None])
def test_a_write_with_a_matching_or_no_if_match_proceeds(
    urls, owner_client, kind, method, precondition
):
    url = urls[kind]
    tag = owner_client.get(url)["ETag"]
    headers = {
        "current": {"HTTP_IF_MATCH": tag},
        "listed": {"HTTP_IF_MATCH": f'"nope", {tag}'},
        "*": {"HTTP_IF_MATCH": "*"},
        None: {},
    }[precondition]
    response = write(owner_client, url, kind, method, **headers)
    if method == "delete":
        assert response.status_code == 204, response.content
        assert owner_client.get(url).status_code == 404
        return
    assert response.status_code == 200, response.content
    field, value = CHANGES[kind]
    assert response.json()[field] == value
    assert owner_client.get(url).json()[field] == value
    assert response["ETag"] == owner_client.get(url)["ETag"] != tag


def test_if_match_is_not_taken_where_it_is_not_offered(project, owner_client):
    """Archiving offers no If-Match (the schema says so): a stale one is not a 412."""
    response = owner_client.post(
        f"/api/v1/projects/{project.key}/archive", HTTP_IF_MATCH='"stale"'
    )
    assert response.status_code == 200, response.content
    assert Project.objects.get(pk=project.pk).archived_at is not None


# -- Idempotency-Key ----------------------------------------------------------------------


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """POST JSON with an Idempotency-Key, running the commit hooks that store the record
    (the test's transaction never commits)."""

    def send(owner_client, url, body, key):
        headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
        with django_capture_on_commit_callbacks(execute=True):
            return owner_client.post(url, body, format="json", **headers)

    return send


def creations(project, issue):
    """(url, body, another body, how to count what was created) per creating endpoint."""
    return {
        "issues": (
            "/api/v1/issues",
            {"project": project.key, "title": "Once"},
            {"project": project.key, "title": "Twice"},
            lambda: Issue.objects.filter(project=project).count(),
        ),
        "project_issues": (
            f"/api/v1/projects/{project.key}/issues",
            {"title": "Once"},
            {"title": "Twice"},
            lambda: Issue.objects.filter(project=project).count(),
        ),
        "comments": (
            f"/api/v1/issues/{issue.key}/comments",
            {"body": "Once"},
            {"body": "Twice"},
            lambda: Comment.objects.filter(issue=issue).count(),
        ),
        "projects": (
            "/api/v1/projects",
            {"key": "ONCE", "name": "Once"},
            {"key": "TWICE", "name": "Twice"},
            lambda: Project.objects.count(),
        ),
    }


CREATIONS = ["issues", "project_issues", "comments", "projects"]


@pytest.mark.parametrize("name", CREATIONS)
def test_a_retry_with_the_same_key_replays_the_first_response(
    project, issue, owner_client, post, name
):
    url, body, _, count = creations(project, issue)[name]
    before = count()
    first = post(owner_client, url, body, "key-1")
    retry = post(owner_client, url, body, "key-1")
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert count() == before + 1


@pytest.mark.parametrize("name", CREATIONS)
def test_the_same_key_with_another_body_is_a_422(project, issue, owner_client, post, name):
    url, body, other, count = creations(project, issue)[name]
    first = post(owner_client, url, body, "key-2")
    after_first = count()
    response = post(owner_client, url, other, "key-2")
    assert first.status_code == 201
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert count() == after_first


@pytest.mark.parametrize("name", CREATIONS)
def test_without_a_key_each_post_creates(project, issue, owner_client, post, name):
    url, body, other, count = creations(project, issue)[name]
    before = count()
    assert post(owner_client, url, body, None).status_code == 201
    second = post(owner_client, url, other if name == "projects" else body, None)
    assert second.status_code == 201
    assert "Idempotent-Replayed" not in second
    assert count() == before + 2


def test_a_comment_replay_records_one_event(issue, owner_client, post):
    url = f"/api/v1/issues/{issue.key}/comments"
    for _ in range(3):
        post(owner_client, url, {"body": "Only once"}, "comment-key")
    assert list(Comment.objects.filter(issue=issue).values_list("body", flat=True)) == [
        "Only once"
    ]
    assert IssueEvent.objects.filter(issue=issue, kind="commented").count() == 1


def test_keys_are_per_user(project, issue, owner_client, client_for, member_of, post):
    url = f"/api/v1/issues/{issue.key}/comments"
    other = client_for(member_of(project, "reporter"))
    mine = post(owner_client, url, {"body": "Same words"}, "shared-key")
    theirs = post(other, url, {"body": "Same words"}, "shared-key")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs
    assert mine.json()["id"] != theirs.json()["id"]
    assert Comment.objects.filter(issue=issue, body="Same words").count() == 2


def test_a_key_is_bound_to_its_endpoint(project, issue, owner_client, post):
    other_issue = IssueFactory(project=project)
    body = {"body": "Same words"}
    assert post(owner_client, f"/api/v1/issues/{issue.key}/comments", body, "k").status_code == 201
    response = post(owner_client, f"/api/v1/issues/{other_issue.key}/comments", body, "k")
    assert response.status_code == 422
    assert not Comment.objects.filter(issue=other_issue).exists()


def test_a_failed_request_does_not_use_up_its_key(issue, owner_client, post):
    url = f"/api/v1/issues/{issue.key}/comments"
    failed = post(owner_client, url, {"body": "   "}, "retry-after-fix")
    assert failed.status_code == 400
    fixed = post(owner_client, url, {"body": "Now with words"}, "retry-after-fix")
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed
    assert list(Comment.objects.filter(issue=issue).values_list("body", flat=True)) == [
        "Now with words"
    ]


def test_the_first_response_is_kept_for_24_hours(issue, owner_client, post, monkeypatch):
    stored = []
    real_set = idempotency.cache.set

    def spy(key, value, timeout=None, *args, **kwargs):
        stored.append((key, timeout))
        return real_set(key, value, timeout, *args, **kwargs)

    monkeypatch.setattr(idempotency.cache, "set", spy)
    post(owner_client, f"/api/v1/issues/{issue.key}/comments", {"body": "Kept"}, "ttl-key")
    assert [timeout for key, timeout in stored if key.startswith("idem:")] == [24 * 3600]


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_an_empty_or_overlong_key_is_a_400(issue, owner_client, post, key):
    response = post(owner_client, f"/api/v1/issues/{issue.key}/comments", {"body": "Hi"}, key)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not Comment.objects.filter(issue=issue).exists()


# -- rate-limit headers -------------------------------------------------------------------


def limited(rate: str):
    return override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                "user": rate,
            },
        }
    )


def test_authenticated_responses_report_the_rate_limit(issue, owner_client):
    first = owner_client.get("/api/v1/issues")
    second = owner_client.get(f"/api/v1/issues/{issue.key}")
    assert first["RateLimit-Limit"] == second["RateLimit-Limit"] == "10000"
    assert int(first["RateLimit-Remaining"]) == int(second["RateLimit-Remaining"]) + 1
    assert int(second["RateLimit-Remaining"]) == 10000 - 2
    assert 0 < int(first["RateLimit-Reset"]) <= 60


@limited("3/min")
def test_over_the_limit_is_a_429_with_retry_after(issue, owner_client, client_for):
    answers = [owner_client.get("/api/v1/issues") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a["RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    assert {a["RateLimit-Limit"] for a in answers} == {"3"}

    throttled = owner_client.post(
        f"/api/v1/issues/{issue.key}/comments", {"body": "Too fast"}, format="json"
    )
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert throttled["RateLimit-Remaining"] == "0"
    assert throttled.json()["code"] == "throttled"
    assert not Comment.objects.exists()

    other = client_for(UserFactory()).get("/api/v1/projects")  # the limit is per user
    assert other.status_code == 200
    assert other["RateLimit-Remaining"] == "2"


def test_unauthenticated_answers_carry_no_rate_limit(api_client):
    response = api_client.get("/api/v1/issues")
    assert response.status_code == 401
    assert "RateLimit-Limit" not in response


# -- caching ------------------------------------------------------------------------------


def directives(response) -> set[str]:
    return {d.strip() for d in response.get("Cache-Control", "").split(",") if d.strip()}


def varies_on(response) -> set[str]:
    return {v.strip() for v in response.get("Vary", "").split(",") if v.strip()}


def test_api_answers_are_private_and_revalidated(
    urls, owner_client, api_client, issue, project, post
):
    """No shared cache may keep what depends on the caller, and a browser's cache asks
    (If-None-Match) before reusing an answer; each varies on who asks and in what format."""
    tag = owner_client.get(urls["issue"])["ETag"]
    answers = {
        "list": owner_client.get("/api/v1/issues"),
        "detail": owner_client.get(urls["project"]),
        "me": owner_client.get(urls["me"]),
        "304": owner_client.get(urls["issue"], HTTP_IF_NONE_MATCH=tag),
        "create": post(owner_client, f"/api/v1/issues/{issue.key}/comments", {"body": "Hi"}, "k"),
        "replay": post(owner_client, f"/api/v1/issues/{issue.key}/comments", {"body": "Hi"}, "k"),
        "patch": owner_client.patch(urls["label"], {"name": "x"}, format="json"),
        "412": owner_client.patch(
            urls["label"], {"name": "y"}, format="json", HTTP_IF_MATCH='"s"'
        ),
        "404": owner_client.get(f"/api/v1/issues/{project.key}-999"),
        "401": api_client.get("/api/v1/issues"),
        "unknown path": api_client.get("/api/v1/nothing-here"),
    }
    assert [name for name, a in answers.items() if a.status_code >= 300] == [
        "304",
        "412",
        "404",
        "401",
        "unknown path",
    ]
    for name, answer in answers.items():
        assert directives(answer) == {"private", "no-cache"}, name
        assert {"Accept", "Authorization", "Cookie"} <= varies_on(answer), name


def test_pages_the_same_for_everyone_keep_their_own_caching(owner_client, settings):
    jwks = owner_client.get("/.well-known/jwks.json")
    assert jwks["Cache-Control"] == "public, max-age=300"
    health = owner_client.get("/health")  # Django's never_cache, for the probes
    assert directives(health) >= {"no-store", "no-cache", "max-age=0"}
    for page in ("/api/v1/docs/", "/api/v1/schema/"):
        response = owner_client.get(page)
        assert response.status_code == 200
        assert "private" not in directives(response), page
        assert "Authorization" not in varies_on(response), page

    settings.WHITENOISE_USE_FINDERS = True  # serve from the apps' folders, uncollected
    static = Client().get("/static/rest_framework/css/default.css")
    assert static.status_code == 200
    assert "public" in directives(static)
    assert "private" not in directives(static)
    assert "Authorization" not in varies_on(static)


# -- bodies -------------------------------------------------------------------------------


@override_settings(REQUEST_BODY_MAX_BYTES=300)
def test_a_body_over_the_limit_is_a_413_and_creates_nothing(project, issue, owner_client):
    big = {"project": project.key, "title": "Big", "description": "x" * 400}
    response = owner_client.post("/api/v1/issues", big, format="json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "request_too_large"
    assert "300" in response.json()["detail"]
    assert Issue.objects.filter(project=project).count() == 1

    patch = owner_client.patch(
        f"/api/v1/issues/{issue.key}", {"description": "y" * 400}, format="json"
    )
    assert patch.status_code == 413
    assert Issue.objects.get(pk=issue.pk).description == issue.description

    small = owner_client.post("/api/v1/issues", {**big, "description": "x" * 100}, format="json")
    assert small.status_code == 201, small.content


@pytest.mark.parametrize("raw", ['{"title": ', "not json", '{"title": "x",}', "\xff"])
def test_json_that_does_not_parse_is_a_400_and_creates_nothing(project, issue, owner_client, raw):
    response = owner_client.post(
        f"/api/v1/projects/{project.key}/issues", raw, content_type="application/json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "parse_error"
    assert Issue.objects.filter(project=project).count() == 1

    patch = owner_client.patch(f"/api/v1/issues/{issue.key}", raw, content_type="application/json")
    assert patch.status_code == 400
    assert Issue.objects.get(pk=issue.pk).title == "Original"


# -- identifiers that are not numbers -----------------------------------------------------


def test_identifiers_with_non_ascii_digits_are_not_a_500(project, issue, owner_client):
    assert owner_client.get("/api/v1/projects/²").status_code == 404
    assert owner_client.get(f"/api/v1/issues/{project.key}-²").status_code == 404
    LabelFactory(project=project, name="bug")
    response = owner_client.patch(f"/api/v1/issues/{issue.key}", {"labels": ["²"]}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "labels"
    assert not Issue.objects.get(pk=issue.pk).labels.exists()
