"""?search= on issues (full text on PostgreSQL, substring on SQLite; exact keys first)
and projects (substring everywhere), and the text no search accepts."""

import pytest
from django.db import connection

from issues.models import Issue
from projects.models import Role
from tests.factories import IssueFactory, MembershipFactory, ProjectFactory, UserFactory
from tests.lists import assert_bad_param, keys

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.postgres  # skipped on SQLite (tests/conftest.py)


@pytest.fixture
def web(db):
    owner = UserFactory(username="owner")
    web = ProjectFactory(key="WEB", created_by=owner)
    MembershipFactory(project=web, user=owner, role=Role.OWNER)
    rows = [
        ("Crash on save", "Happens every time."),  # WEB-1: a title hit
        ("Slow page load", "The editor may crash when the page is big."),  # WEB-2: description
        ("Typo in footer", "Nothing else."),  # WEB-3
        ("Crashes when offline", ""),  # WEB-4: a title hit, another form of the word
        ("Export to CSV", "Broken since WEB-3 landed."),  # WEB-5: mentions a key
    ]
    for title, description in rows:
        IssueFactory(project=web, title=title, description=description, reporter=owner)
    hidden = ProjectFactory(key="HIDDEN")
    IssueFactory(project=hidden, title="Crash in the hidden project")
    return web


@pytest.fixture
def client(web, client_for):
    return client_for(web.created_by)


def found(client, text, **params) -> list[str]:
    return keys(client.get("/api/v1/issues", {"search": text, "page_size": 100, **params}))


@pytest.mark.parametrize("text", ["crash", "CRASH", "  crash  "])
def test_a_word_finds_title_and_description_hits_case_insensitively(client, text):
    assert sorted(found(client, text)) == ["WEB-1", "WEB-2", "WEB-4"]


def test_search_narrows_the_count_and_combines_with_filters(web, client):
    Issue.objects.filter(project=web, number=2).update(type="bug")
    response = client.get("/api/v1/issues", {"search": "crash", "type": "bug"})
    assert keys(response) == ["WEB-2"]
    assert response.json()["count"] == 1
    response = client.get("/api/v1/issues", {"search": "crash", "page_size": 1})
    assert response.json()["count"] == 3


def test_search_also_works_on_the_project_issue_list(web, client):
    response = client.get(f"/api/v1/projects/{web.key}/issues", {"search": "footer"})
    assert keys(response) == ["WEB-3"]


def test_no_match_is_an_empty_page(client):
    response = client.get("/api/v1/issues", {"search": "zebra"})
    assert response.json()["count"] == 0
    assert keys(response) == []


def test_an_empty_search_is_no_search(client):
    assert len(found(client, "")) == 5


def test_hidden_projects_stay_hidden(client):
    assert "HIDDEN-1" not in found(client, "crash")
    assert found(client, "HIDDEN-1") == []


@pytest.mark.parametrize("text", ["WEB-3", "web-3", " Web-3 "])
def test_an_exact_key_comes_first(client, text):
    # WEB-5 mentions the key in its description and matches too, but after it.
    assert found(client, text) == ["WEB-3", "WEB-5"]
    assert found(client, text, ordering="number") == ["WEB-3", "WEB-5"]


def test_a_key_that_matches_text_too_still_comes_first(web, client):
    Issue.objects.filter(project=web, number=4).update(title="Crash WEB-4 follow-up")
    Issue.objects.filter(project=web, number=1).update(description="Duplicate of WEB-4.")
    result = found(client, "WEB-4", ordering="number")
    assert result[0] == "WEB-4"
    assert sorted(result) == ["WEB-1", "WEB-4"]


@pytest.mark.parametrize("text", ["WEB-99999999999999999999", "WEB-²", "WEB-3x", "WEB-"])
def test_key_like_text_that_is_no_key_is_searched_as_text(client, text):
    assert "WEB-3" not in found(client, text)


@pytest.mark.parametrize("text", ["-", "-7", "--", "WEB--3"])
def test_text_of_dashes_and_digits_is_not_an_error(client, text):
    assert set(found(client, text)) <= {f"WEB-{n}" for n in range(1, 6)}


@pytest.mark.parametrize("search", [None, "", "   "])
@pytest.mark.parametrize("url", ["/api/v1/issues", "/api/v1/projects/WEB/issues"])
def test_ordering_by_rank_without_search_words_is_a_400(client, url, search):
    # Blank text searches nothing (the list is unfiltered), so there is no rank to sort by.
    params = {"ordering": "rank,-rank"} | ({} if search is None else {"search": search})
    assert_bad_param(client.get(url, params), "ordering")


def test_ordering_by_rank_needs_a_search(client):
    response = client.get("/api/v1/issues", {"ordering": "-rank", "search": "crash"})
    assert sorted(keys(response)) == ["WEB-1", "WEB-2", "WEB-4"]


@pytest.mark.parametrize("url", ["/api/v1/issues", "/api/v1/projects/WEB/issues"])
@pytest.mark.parametrize("text", ["x" * 201, "crash\x00", "\x00"])
def test_overlong_or_nul_search_text_is_a_400(client, url, text):
    assert_bad_param(client.get(url, {"search": text}), "search")


def test_200_characters_are_fine(client):
    assert found(client, "crash " + "x" * 194) == []


# -- PostgreSQL full-text search ------------------------------------------------------------


@postgres_only
def test_rank_puts_title_hits_above_description_hits(client):
    result = found(client, "crash", ordering="-rank")
    assert sorted(result[:2]) == ["WEB-1", "WEB-4"]
    assert result[2] == "WEB-2"
    # ... and reversed with rank ascending
    assert found(client, "crash", ordering="rank")[0] == "WEB-2"


@postgres_only
def test_stemming_finds_other_forms_of_a_word(client):
    assert sorted(found(client, "crashes")) == ["WEB-1", "WEB-2", "WEB-4"]
    assert sorted(found(client, "crashing")) == ["WEB-1", "WEB-2", "WEB-4"]
    assert found(client, "saving") == ["WEB-1"]


@postgres_only
def test_web_search_syntax(client):
    assert sorted(found(client, "crash -offline")) == ["WEB-1", "WEB-2"]
    assert found(client, '"on save"') == ["WEB-1"]
    assert sorted(found(client, "footer or offline")) == ["WEB-3", "WEB-4"]


@postgres_only
def test_the_vector_is_kept_current_by_the_database(web, client):
    issue = Issue.objects.get(project=web, number=3)
    response = client.patch(
        "/api/v1/issues/WEB-3", {"title": "Rendering glitch in header"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert found(client, "glitch") == ["WEB-3"]
    assert found(client, "footer") == []
    # Even writes that bypass the model: an UPDATE and a bulk INSERT.
    Issue.objects.filter(pk=issue.pk).update(description="Flicker on scroll")
    assert found(client, "flicker") == ["WEB-3"]
    Issue.objects.bulk_create([Issue(project=web, number=6, title="Bulk imported blizzard")])
    assert found(client, "blizzard") == ["WEB-6"]


@postgres_only
def test_the_vector_is_stored_and_gin_indexed(web):
    assert not Issue.objects.filter(project=web, search_vector__isnull=True).exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'issues_issue' "
            "AND indexdef LIKE '%%search_vector%%'"
        )
        definitions = [row[0] for row in cursor.fetchall()]
    assert any("USING gin" in d for d in definitions), definitions


def test_sqlite_falls_back_to_a_substring_match(client):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL searches words, not substrings")
    assert sorted(found(client, "ras")) == ["WEB-1", "WEB-2", "WEB-4"]
    assert found(client, "crashes") == ["WEB-4"]


# -- projects -------------------------------------------------------------------------------


@pytest.fixture
def sites(user):
    rows = [
        ("WEB", "Website", "The public site"),
        ("API", "Public API", "REST endpoints"),
        ("OPS", "Operations", "Runbooks for the website"),
        ("MOB", "Mobile", "Apps"),
    ]
    for key, name, description in rows:
        project = ProjectFactory(key=key, name=name, description=description)
        MembershipFactory(project=project, user=user)
    ProjectFactory(key="OTHER", name="Website of someone else")  # not visible
    old = ProjectFactory(key="OLDWEB", name="Website (old)", archived_at="2024-01-01T00:00:00Z")
    MembershipFactory(project=old, user=user)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("web", ["OPS", "WEB"]),  # key, name and description; archived and hidden left out
        ("PUBLIC", ["API", "WEB"]),
        ("api", ["API"]),
        ("runbooks", ["OPS"]),
        ("nothing", []),
    ],
)
def test_project_search(sites, user_client, text, expected):
    response = user_client.get("/api/v1/projects", {"search": text, "ordering": "key"})
    assert keys(response) == expected
    assert response.json()["count"] == len(expected)


def test_project_search_combines_with_filters(sites, user_client):
    response = user_client.get("/api/v1/projects", {"search": "web", "archived": "true"})
    assert keys(response) == ["OLDWEB"]


@pytest.mark.parametrize("text", ["x" * 201, "web\x00"])
def test_overlong_or_nul_project_search_is_a_400(sites, user_client, text):
    assert_bad_param(user_client.get("/api/v1/projects", {"search": text}), "search")


@pytest.mark.parametrize("key", ["WEB-²", "WEB-99999999999999999999", "WEB-", "WEB", "-3"])
def test_a_malformed_issue_key_is_a_404_not_a_500(client, key):
    response = client.get(f"/api/v1/issues/{key}")
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"
