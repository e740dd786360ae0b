"""The benchmark's references (bench/views.py, mounted only by bench/urls.py) serve the
same rows as the API's first page, so the ratios it reports compare like with like."""

import importlib
import json

import pytest
from django.db import connection

from accounts.tokens import AccessToken
from attachments.models import Attachment
from issues.models import IssueRelation
from projects.models import Project
from tests.factories import IssueFactory, LabelFactory, ThreadFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("bench.urls")]


@pytest.fixture
def issues(project):
    labels = [LabelFactory(project=project, name=name) for name in ("api", "ux")]
    for n in range(60):
        issue = IssueFactory(project=project, assignee=UserFactory() if n % 2 else None)
        issue.labels.set(labels[: n % 3])
    IssueFactory()  # in a project the caller cannot see


def assert_served_as_by_the_api(rows: list[dict], api: list[dict]) -> None:
    """Each field the floor serves is what the API answers for it, row by row."""
    assert rows, "the floor served nothing"
    assert [row["key"] for row in rows] == [item["key"] for item in api]
    for row, item in zip(rows, api, strict=True):
        for field, value in row.items():
            assert value == item[field], (row["key"], field)


def test_the_data_floor_serves_the_api_first_page(project, issues, client_for):
    client = client_for(project.created_by)
    api = client.get("/api/v1/issues", {"page_size": 50}).json()["results"]
    visible = Project.objects.visible_to(project.created_by).values_list("pk", flat=True)
    floor = client.get("/bench/floor/issues", {"projects": ",".join(map(str, visible))})
    assert floor.status_code == 200
    rows = floor.json()["results"]
    # Every field it serves, as the API renders it (times, people, labels, links).
    assert_served_as_by_the_api(rows, api)
    assert set(api[0]) - set(rows[0]) <= {"comments_count"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="bench/bare.py reads PostgreSQL")
def test_the_bare_wsgi_floor_serves_the_api_first_page(project, issues, client_for, bare):
    client = client_for(project.created_by)
    api = client.get("/api/v1/issues", {"page_size": 50}, HTTP_HOST="testserver").json()
    visible = Project.objects.visible_to(project.created_by).values_list("pk", flat=True)
    status, body = bare("/", "projects=" + ",".join(map(str, visible)))
    assert status == "200 OK"
    rows = body["results"]
    assert_served_as_by_the_api(rows, api["results"])
    assert set(api["results"][0]) - set(rows[0]) <= {"comments_count"}


def test_the_naive_baseline_serves_the_same_rows(project, issues, client_for):
    client = client_for(project.created_by)
    api = client.get("/api/v1/issues", {"page_size": 50}).json()["results"]
    naive = client.get("/bench/naive/issues").json()
    assert naive["count"] == 60
    assert [row["id"] for row in naive["results"]] == [row["id"] for row in api]


def test_production_urls_do_not_mount_the_references(project, client_for, settings):
    settings.ROOT_URLCONF = "config.urls"
    client = client_for(project.created_by)
    assert client.get("/bench/floor/issues").status_code == 404
    assert client.get("/bench/naive/issues").status_code == 404


def test_the_filtered_data_floor_serves_the_api_filtered_page(project, issues, client_for):
    client = client_for(project.created_by)
    api = client.get(
        "/api/v1/issues",
        {"assignee": "none", "label": "api", "ordering": "-priority", "page_size": 50},
    ).json()
    label = project.labels.get(name="api")
    floor = client.get(
        "/bench/floor/issues",
        {"projects": project.pk, "labels": label.pk, "ordering": "-priority", "count": 1},
    ).json()
    # The floor takes an assignee id; "none" is the API's spelling of "no assignee".
    unassigned = [row for row in floor["results"] if row["assignee"] is None]
    assert [row["key"] for row in unassigned] == [row["key"] for row in api["results"]]
    assert floor["count"] == 40  # two of three issues carry "api"


def test_the_data_floor_serves_the_api_issue_detail(project, issues, client_for):
    client = client_for(project.created_by)
    for issue in project.issues.order_by("number")[:3]:
        api = client.get(f"/api/v1/issues/{issue.key}").json()
        floor = client.get(f"/bench/floor/issues/{issue.key}", {"projects": project.pk})
        assert floor.status_code == 200
        assert floor.json() == api
    hidden = client.get(f"/bench/floor/issues/{issue.key}", {"projects": project.pk + 1})
    assert hidden.status_code == 404


@pytest.fixture
def bare(project, monkeypatch, settings, tmp_path):
    """bench/bare.py on the test's own connection (it sees the rows the test has not
    committed), and a function that asks it with the caller's token: (status, JSON body)."""
    key = tmp_path / "private.pem"
    key.write_text(settings.SIGNING_KEYS.private_pem)
    monkeypatch.setenv("PRIVATE_KEY_PATH", str(key))
    app = importlib.reload(importlib.import_module("bench.bare"))
    connection.ensure_connection()
    monkeypatch.setattr(app, "_connection", lambda: connection.connection)
    token = str(AccessToken.for_user(project.created_by))

    def get(path, query):
        answered = {}
        body = app.application(
            {
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "HTTP_AUTHORIZATION": f"Bearer {token}",
                "HTTP_HOST": "testserver",
                "wsgi.url_scheme": "http",
            },
            lambda status, headers: answered.update(status=status),
        )
        return answered["status"], json.loads(b"".join(body))

    return get


def searchable_word(title: str) -> str:
    """A word of `title` that full-text search finds, not a stop word ("which", "about")."""
    with connection.cursor() as cursor:
        for word in title.split():
            cursor.execute("SELECT to_tsvector('english', %s) <> ''::tsvector", [word])
            if cursor.fetchone()[0]:
                return word.strip(".")
    raise AssertionError(f"no searchable word in {title!r}")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="bench/bare.py reads PostgreSQL")
def test_the_bare_wsgi_floor_serves_what_the_data_floor_does(project, issues, client_for, bare):
    client = client_for(project.created_by)
    label = project.labels.get(name="api")
    assignee = project.issues.exclude(assignee=None).first().assignee_id
    word = searchable_word(project.issues.first().title)
    for query in (
        f"projects={project.pk}&labels={label.pk}&ordering=-priority&count=1",
        f"projects={project.pk}&status=open&assignee={assignee}&count=1",
        f"projects={project.pk}&search={word}&count=1",
    ):
        floor = client.get(f"/bench/floor/issues?{query}", HTTP_HOST="testserver").json()
        status, body = bare("/", query)
        assert status == "200 OK"
        assert body == floor, query
        assert body["results"]
    issue = project.issues.first()
    api = client.get(f"/api/v1/issues/{issue.key}", HTTP_HOST="testserver").json()
    assert bare(f"/issues/{issue.key}", f"projects={project.pk}") == ("200 OK", api)
    assert bare(f"/issues/{issue.key}", "projects=0")[0] == "404 Not Found"


@pytest.mark.parametrize("kind", ["blocked", "parent"])
def test_the_relation_data_floors_serve_the_api_filtered_page(project, client_for, kind):
    """The references of `blocked=true` and `parent=` (bench/scenarios.py) read the rows
    the API's filters read, with their counts."""
    issues = [IssueFactory(project=project) for _ in range(12)]
    parent = issues[0]
    for n, issue in enumerate(issues[1:]):
        (
            IssueRelation.objects.create(source=issue, target=parent, type="parent")
            if n % 2
            else (
                IssueRelation.objects.create(
                    source=IssueFactory(
                        project=project,
                        status="closed" if n % 4 else "open",
                        resolution="fixed" if n % 4 else "",
                    ),
                    target=issue,
                    type="blocks",
                )
            )
        )
    client = client_for(project.created_by)
    visible = Project.objects.visible_to(project.created_by).values_list("pk", flat=True)
    params = {"projects": ",".join(map(str, visible)), "count": "1"}
    if kind == "blocked":
        api = client.get("/api/v1/issues", {"blocked": "true", "page_size": 50}).json()
        floor = client.get("/bench/floor/issues", {**params, "blocked": "1"}).json()
    else:
        api = client.get("/api/v1/issues", {"parent": parent.key, "page_size": 50}).json()
        floor = client.get("/bench/floor/issues", {**params, "parent": parent.pk}).json()
    assert_served_as_by_the_api(floor["results"], api["results"])
    assert floor["count"] == api["count"] > 1


def test_the_inbox_data_floor_serves_the_api_first_page(project, client_for):
    """The reference of "inbox, first page": the same threads in the same order, done ones
    and those of projects the reader no longer sees left out, as the API does."""
    reader = project.created_by
    threads = [ThreadFactory(user=reader, issue=IssueFactory(project=project)) for _ in range(7)]
    threads[2].done_at = threads[2].updated_at
    threads[2].save()
    ThreadFactory(user=reader)  # its issue's project is hidden from the reader
    ThreadFactory(issue=IssueFactory(project=project))  # someone else's
    client = client_for(reader)
    api = client.get("/api/v1/me/notifications", {"page_size": 50}).json()["results"]
    floor = client.get("/bench/floor/notifications", {"user": reader.pk})
    assert floor.status_code == 200
    rows = floor.json()["results"]
    assert [row["id"] for row in rows] == [item["id"] for item in api]
    assert len(rows) == 6
    for row, item in zip(rows, api, strict=True):
        assert row["issue__title"] == item["issue"]["title"]
        assert row["reason"] == item["reason"]


def test_the_attachments_data_floor_serves_the_api_first_page(project, client_for):
    """The reference of "files of an issue": the same files, fields and links, counted."""
    issue = IssueFactory(project=project)
    for n in range(3):
        Attachment.objects.create(
            issue=issue,
            uploader=project.created_by,
            key=Attachment.new_key(),
            filename=f"shot-{n}.png",
            size=10 + n,
            content_type="image/png",
            sha256="0" * 64,
            status="available",
        )
    client = client_for(project.created_by)
    api = client.get(f"/api/v1/issues/{issue.key}/attachments", {"page_size": 50}).json()
    floor = client.get(
        "/bench/floor/attachments", {"user": project.created_by.pk, "issue": issue.key}
    )
    assert floor.status_code == 200
    body = floor.json()
    assert body["count"] == api["count"] == 3
    for row, item in zip(body["results"], api["results"], strict=True):
        for field in ("id", "filename", "size", "content_type", "url", "download_url", "issue"):
            assert row[field] == item[field], field
