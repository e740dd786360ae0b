"""Imports through the API: GitHub's issues JSON, the CSV, this service's JSONL; the dry run
and its report; users, labels, statuses; importing twice; events with one bulk_id."""

from pathlib import Path

import pytest
from django.db import IntegrityError

from comments.models import Comment
from events.models import Event
from issues.models import Issue, IssueEvent, Label
from projects.models import Role
from tests.factories import IssueFactory, MembershipFactory, UserFactory
from tests.state import database_state
from transfers.models import Import, ImportedIssue
from webhooks.services import event_payload

from .helpers import jsonl, upload

pytestmark = pytest.mark.django_db

GITHUB = (Path(__file__).parent / "data" / "github_issues.json").read_bytes()


@pytest.fixture
def client(owner, client_for):
    return client_for(owner)


@pytest.fixture
def people(project):
    """alice, a developer of the project; bob, a user here but only a reporter of it."""
    alice = UserFactory(username="alice", email="alice@example.com")
    bob = UserFactory(username="bob", email="bob@example.com")
    MembershipFactory(project=project, user=alice, role=Role.DEVELOPER)
    MembershipFactory(project=project, user=bob, role=Role.REPORTER)
    return alice, bob


def post(client, project, content, format, name="issues", **extra):
    return client.post(
        f"/api/v1/projects/{project.key}/imports",
        {"file": upload(content, name=f"{name}.{format}"), "format": format, **extra},
        format="multipart",
    )


def run(client, project, content, format, jobs, **extra):
    with jobs():
        answer = post(client, project, content, format, **extra)
    assert answer.status_code == 202, answer.content
    return answer


def test_a_github_issues_file_imports_with_its_comments(project, owner, people, client, jobs):
    alice, bob = people

    answer = run(client, project, GITHUB, "github", jobs)

    body = answer.json()
    assert answer["Location"] == body["url"]
    assert body["status"] == "queued" and body["progress"] == {"total": 4, "processed": 0}
    done = client.get(body["url"]).json()
    assert done["status"] == "done", done
    assert done["counts"] == {"created": 3, "skipped": 1}
    assert done["progress"] == {"total": 4, "processed": 4}
    found, dark, crash = Issue.objects.filter(project=project).order_by("number")
    # 1347: open, reported by octocat (no user here: the importer, named in the text)
    assert found.title == "Found a bug"
    assert (found.status, found.resolution, found.type) == ("open", "", "bug")
    assert found.reporter == owner
    assert found.description == (
        "_Imported: originally reported by octocat._\n\nI'm having a problem with this."
    )
    assert found.assignee == alice
    assert sorted(label.name for label in found.labels.all()) == ["bug", "good first issue"]
    assert Label.objects.get(project=project, name="bug").color == "#D73A4A"
    assert found.created_at.isoformat() == "2024-04-14T15:59:12+00:00"
    assert found.updated_at.isoformat() == "2024-04-15T10:00:00+00:00"
    comments = list(found.comments.order_by("created_at"))
    assert [(c.author, c.body) for c in comments] == [
        (alice, "I can reproduce it."),
        (owner, "_Imported: originally written by octocat._\n\nThanks! Logs attached."),
    ]
    assert comments[1].created_at.isoformat() == "2024-04-15T09:12:00+00:00"
    assert comments[1].updated_at.isoformat() == "2024-04-15T10:00:00+00:00"
    # 1348: not planned; a feature by its label
    assert (dark.status, dark.resolution, dark.type) == ("closed", "wont_fix", "feature")
    assert dark.reporter == alice and dark.description == ""
    assert dark.closed_at.isoformat() == "2024-06-01T08:00:00+00:00"
    # 1349 is a pull request: skipped. 1350: a bug by its issue type; bob cannot be assigned.
    assert (crash.status, crash.resolution, crash.type) == ("closed", "fixed", "bug")
    assert crash.reporter == bob and crash.assignee is None
    # The history: created, each comment, then the import naming where it came from.
    history = list(found.events.order_by("created_at", "id"))
    assert [e.kind for e in history] == ["created", "commented", "commented", "imported"]
    assert history[0].created_at == found.created_at and history[0].actor == owner
    assert history[-1].actor == owner
    assert history[-1].new_value == {
        "source": "github",
        "external_id": "1001347",
        "import_id": body["id"],
        "original_reporter": "octocat",
    }
    assert ImportedIssue.objects.get(issue=found).external_id == "1001347"
    # The report: users matched or not, the warning about bob, the pull request.
    report = done["report"]
    assert report["users"]["matched"] == [
        {"name": "alice", "user": "alice"},
        {"name": "bob", "user": "bob"},
    ]
    assert report["users"]["unmatched"] == [
        {"name": "octocat", "records": 1, "becomes": "the importer"}
    ]
    assert report["warnings"] == [
        {
            "line": 77,
            "field": "assignee",
            "message": "'bob' cannot be assigned here (only developers and above can): "
            "left unassigned.",
        }
    ]
    assert report["skipped"] == [
        {"line": 63, "external_id": "1001349", "reason": "a pull request, not an issue"}
    ]
    assert Import.objects.get().file == ""  # the upload is gone once imported


def test_a_dry_run_reports_and_changes_nothing(project, people, client):
    before = database_state()
    events = Event.objects.count()

    answer = post(client, project, GITHUB, "github", dry_run="true")

    assert answer.status_code == 200, answer.content
    assert database_state() == before
    assert Event.objects.count() == events
    body = answer.json()
    assert body["dry_run"] is True and body["format"] == "github"
    report = body["report"]
    assert report["records"] == 4
    assert report["create"] == {
        "issues": 3,
        "comments": 2,
        "history": 3 + 2 + 3,  # created and imported for each, and one per comment
        "labels": ["bug", "enhancement", "good first issue"],
    }
    assert report["refused"] == [] and report["refused_count"] == 0
    assert report["skipped_count"] == 1 and report["warnings_count"] == 1


def test_the_dry_run_report_is_what_the_real_run_does(project, people, client, jobs):
    planned = post(client, project, GITHUB, "github", dry_run=True).json()["report"]
    answer = run(client, project, GITHUB, "github", jobs)
    assert answer.json()["report"] == planned
    assert Issue.objects.filter(project=project).count() == planned["create"]["issues"]
    assert Comment.objects.filter(issue__project=project).count() == planned["create"]["comments"]
    assert (
        IssueEvent.objects.filter(issue__project=project).count() == planned["create"]["history"]
    )


def test_importing_the_same_file_twice_creates_nothing_twice(project, people, client, jobs):
    run(client, project, GITHUB, "github", jobs)
    before = database_state()

    planned = post(client, project, GITHUB, "github", dry_run=True).json()["report"]
    run(client, project, GITHUB, "github", jobs)

    assert planned["create"]["issues"] == 0
    key = project.key
    assert planned["skipped"] == [
        {"line": 2, "external_id": "1001347", "reason": f"imported as {key}-1"},
        {"line": 47, "external_id": "1001348", "reason": f"imported as {key}-2"},
        {"line": 63, "external_id": "1001349", "reason": "a pull request, not an issue"},
        {"line": 77, "external_id": "1001350", "reason": f"imported as {key}-3"},
    ]
    after = database_state()
    assert after["issues.Issue"] == before["issues.Issue"]
    assert after["comments.Comment"] == before["comments.Comment"]
    second = Import.objects.order_by("id").last()
    assert (second.status, second.created, second.skipped) == ("done", 0, 4)


def test_the_external_id_is_unique_per_project_in_the_database(project, owner):
    first, second = IssueFactory(project=project), IssueFactory(project=project)
    ImportedIssue.objects.create(project=project, source="github", external_id="1", issue=first)
    with pytest.raises(IntegrityError):
        ImportedIssue.objects.create(
            project=project, source="github", external_id="1", issue=second
        )


def test_a_record_twice_in_one_file_is_refused(project, client):
    content = jsonl([{"key": "A-1", "title": "One"}, {"key": "A-1", "title": "Again"}])
    answer = post(client, project, content, "jsonl")
    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        {
            "field": "key",
            "message": "Line 2: 'A-1' appears twice in the file.",
            "code": "duplicate",
            "line": 2,
        }
    ]


CSV_HEADER = "key,title,description,type,priority,status,resolution,reporter,assignee,labels"


def test_a_csv_with_the_documented_header_imports(project, owner, people, client, jobs):
    alice, _ = people
    content = (
        "\ufeff" + CSV_HEADER + ",due_date,created_at,closed_at\r\n"
        '"X-1","\'=HYPERLINK(""http://evil"")","multi\nline",Defect,Critical,Closed,Won\'t Fix,'
        'alice@example.com,alice,"bug,""a, b""",2025-01-31,2024-01-01T10:00:00,\r\n'
        "X-2,Plain,,,,done,,alice,,,,2024-01-02T10:00:00+02:00,2024-02-01T00:00:00Z\r\n"
        "X-3,In flight,,story,P3,In Progress,,,,,,,\r\n"
    )
    run(client, project, content, "csv", jobs)

    escaped, done, flight = Issue.objects.filter(project=project).order_by("number")
    assert escaped.title == '=HYPERLINK("http://evil")'
    assert escaped.description == "multi\nline"
    assert (escaped.type, escaped.priority) == ("bug", Issue.Priority.HIGHEST)
    assert (escaped.status, escaped.resolution) == ("closed", "wont_fix")
    assert escaped.reporter == alice  # by the email of a member
    assert sorted(label.name for label in escaped.labels.all()) == ["a, b", "bug"]
    assert escaped.due_date.isoformat() == "2025-01-31"
    assert escaped.created_at.isoformat() == "2024-01-01T10:00:00+00:00"  # no offset: UTC
    assert (done.status, done.resolution) == ("closed", "fixed")
    assert done.created_at.isoformat() == "2024-01-02T08:00:00+00:00"
    assert done.closed_at.isoformat() == "2024-02-01T00:00:00+00:00"
    assert done.reporter == alice
    assert (flight.status, flight.type, flight.priority) == ("in_progress", "feature", 2)
    assert flight.reporter == owner  # nobody named: the importer


def test_each_event_of_an_import_carries_its_bulk_id(project, people, client, jobs):
    answer = run(client, project, GITHUB, "github", jobs)
    bulk_id = answer.json()["bulk_id"]
    before = Event.objects.filter(bulk_id__isnull=True).count()

    events = Event.objects.filter(project=project, bulk_id=bulk_id).order_by("id")

    assert [e.type for e in events] == [
        "label.created",
        "label.created",
        "label.created",
        "issue.created",
        "comment.created",
        "comment.created",
        "issue.created",
        "issue.created",
    ]
    assert {e.actor for e in events} == {project.created_by}
    created = events.filter(type="issue.created").first()
    assert created.data["status"] == "open" and created.data["key"] == f"{project.key}-1"
    assert created.data["created_at"] == "2024-04-14T15:59:12Z"
    # The feed shows it, and takes it as a filter; webhooks carry it too.
    feed = client.get(f"/api/v1/events?bulk_id={bulk_id}").json()["results"]
    assert [e["id"] for e in feed] == [e.pk for e in events]
    assert {e["bulk_id"] for e in feed} == {bulk_id}
    assert event_payload(created)["data"]["bulk_id"] == bulk_id
    # Changes made one at a time have none.
    client.patch(f"/api/v1/issues/{project.key}-1", {"title": "Renamed"}, format="json")
    alone = Event.objects.order_by("id").last()
    assert alone.bulk_id is None and event_payload(alone)["data"]["bulk_id"] is None
    assert Event.objects.filter(bulk_id__isnull=True).count() == before + 1
    assert client.get("/api/v1/events?bulk_id=nope").status_code == 400


# -- bad files: a 400 naming the line and the problem, nothing imported -------------------


BAD_FILES = [
    # (name, format, content, code, line)
    ("latin-1", "csv", "key,title\r\nA-1,ok\r\nA-2,caf\xe9\r\n".encode("latin-1"), "not_utf8", 3),
    ("utf-16", "jsonl", '{"key": "A-1", "title": "x"}\n'.encode("utf-16"), "not_utf8", 1),
    ("wrong header", "csv", "key,title,colour\r\nA-1,x,red\r\n", "wrong_header", 1),
    ("no title column", "csv", "key,description\r\nA-1,x\r\n", "wrong_header", 1),
    ("a column twice", "csv", "key,title,title\r\nA-1,x,y\r\n", "wrong_header", 1),
    ("cells", "csv", "key,title\r\nA-1,x\r\nA-2,y,z\r\n", "wrong_cell_count", 3),
    ("open quote", "csv", 'key,title\r\nA-1,"x\r\n', "invalid_csv", 2),
    (
        "bad json",
        "jsonl",
        '{"key": "A-1", "title": "x"}\n{"key": "A-2", "title": }\n',
        "invalid_json",
        2,
    ),
    ("not an object", "jsonl", '{"key": "A-1", "title": "x"}\n[1, 2]\n', "invalid_json", 2),
    (
        "deep jsonl",
        "jsonl",
        '{"key": "A-1", "title": "x", "labels": ' + "[" * 20 + "]" * 20 + "}\n",
        "too_deep",
        1,
    ),
    ("very deep jsonl", "jsonl", "[" * 100_000 + "]" * 100_000 + "\n", "too_deep", 1),
    (
        "deep github",
        "github",
        '[{"id": 1, "title": "x", "user": ' + '{"a":' * 30 + "1" + "}" * 31 + "]",
        "too_deep",
        1,
    ),
    ("not an array", "github", '{"id": 1}', "invalid_json", 1),
    (
        "cut short",
        "github",
        '[{"id": 1, "title": "x", "state": "open"},\n{"id": 2',
        "invalid_json",
        2,
    ),
    (
        "no comma",
        "github",
        '[{"id": 1, "title": "x", "state": "open"}\n{"id": 2}]',
        "invalid_json",
        2,
    ),
    ("surrogate", "jsonl", '{"key": "A-1", "title": "\\ud800"}\n', "invalid_unicode", 1),
    ("empty", "jsonl", "", "empty_file", None),
    ("blank lines", "jsonl", "\n\n  \n", "empty_file", None),
    ("header only", "csv", "key,title\r\n", "empty_file", None),
    ("empty array", "github", "[]", "empty_file", None),
    ("gzip", "jsonl", b"\x1f\x8b\x08\x00" + b"\x00" * 20, "compressed_file", None),
    ("zip", "csv", b"PK\x03\x04" + b"\x00" * 40, "compressed_file", None),
]


@pytest.mark.parametrize(
    "name, format, content, code, line", BAD_FILES, ids=[b[0] for b in BAD_FILES]
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_bad_file_is_a_400_naming_the_line_and_the_problem(
    project, client, name, format, content, code, line, dry_run
):
    before = database_state()

    answer = post(client, project, content, format, dry_run=dry_run)

    assert answer.status_code == 400, answer.content
    body = answer.json()
    assert body["code"] == code
    assert body.get("line") == line
    error = body["errors"][0]
    assert error["field"] == "file" and error["code"] == code
    if line:
        assert body["detail"].startswith(f"Line {line}: ")
    assert database_state() == before


def test_a_zip_bomb_is_refused_unopened(project, client):
    import gzip

    bomb = gzip.compress(b"\n" * 50_000_000)  # 50 MB of nothing in about 50 KB
    answer = post(client, project, bomb, "jsonl")
    assert answer.status_code == 400
    assert answer.json()["detail"] == (
        "This is a gzip file: compressed files are not accepted; upload the file itself "
        "(UTF-8 text)."
    )


def test_a_file_over_the_limit_is_refused(project, client, settings):
    settings.IMPORT_MAX_BYTES = 1000
    content = jsonl([{"key": f"A-{n}", "title": "x" * 50} for n in range(20)])
    assert len(content) > 1000

    answer = post(client, project, content, "jsonl")

    assert answer.status_code == 400
    assert answer.json()["code"] == "file_too_large"
    assert "the limit is 1000 (IMPORT_MAX_BYTES)" in answer.json()["detail"]
    # A body past the limit and what a multipart body adds is refused before it is read.
    huge = client.post(
        f"/api/v1/projects/{project.key}/imports",
        {"file": upload("x" * 1_200_000), "format": "jsonl"},
        format="multipart",
    )
    assert huge.status_code == 413
    assert not Import.objects.exists()


def test_uploads_may_be_larger_than_other_bodies(project, client, settings, jobs):
    settings.REQUEST_BODY_MAX_BYTES = 1000
    content = jsonl([{"key": f"A-{n}", "title": "x" * 50} for n in range(50)])
    run(client, project, content, "jsonl", jobs)
    assert Issue.objects.filter(project=project).count() == 50
    # Elsewhere the general limit holds.
    other = client.post(f"/api/v1/projects/{project.key}/issues", {"title": "x" * 2000})
    assert other.status_code == 413


def test_a_line_over_the_record_limit_is_refused(project, client, settings):
    settings.IMPORT_MAX_RECORD_BYTES = 100
    content = jsonl([{"key": "A-1", "title": "x"}, {"key": "A-2", "title": "y" * 200}])
    answer = post(client, project, content, "jsonl")
    assert answer.status_code == 400
    assert answer.json()["code"] == "line_too_long"
    assert answer.json()["line"] == 2


def test_a_csv_cell_past_the_parsers_limit_is_refused_with_its_line(project, client):
    content = "key,title,description\r\nA-1,x,y\r\nA-2,x," + "z" * 140_000 + "\r\n"
    answer = post(client, project, content, "csv")
    assert answer.status_code == 400
    body = answer.json()
    assert (body["code"], body["line"]) == ("invalid_csv", 3)
    assert "field larger than field limit" in body["detail"]


# -- refused records: a real run imports nothing, a dry run lists them -------------------


REFUSED = [
    {"key": "A-1", "title": "Fine"},
    {"key": "A-2", "title": "t" * 201},
    {"key": "A-3", "title": "   "},
    {"key": "A-4", "title": "x", "description": "d" * 50_001},
    {"key": "A-5", "title": "x", "status": "archived"},
    {"key": "A-6", "title": "x", "status": "open", "resolution": "fixed"},
    {"key": "A-7", "title": "x", "labels": ["l" * 51]},
    {"key": "A-8", "title": "x", "created_at": "yesterday"},
    {"key": "A-9", "title": "x", "comments": [{"author": None, "body": "c" * 20_001}]},
    {"key": "", "title": "x"},
    {"key": "A-11", "title": "x", "priority": "urgentest"},
    {"key": "A-12", "title": "x\u0000y"},
    {"key": "A-13", "title": "x", "history": [{"kind": "moved", "created_at": "2024-01-01"}]},
    {"key": "A-14", "title": "x", "due_date": "31/01/2025"},
    {"key": "A-15", "title": 42},
]
REFUSED_FIELDS = [
    (2, "title", "max_length"),
    (3, "title", "required"),
    (4, "description", "max_length"),
    (5, "status", "invalid_choice"),
    (6, "resolution", "invalid"),
    (7, "labels.0", "max_length"),
    (8, "created_at", "invalid"),
    (9, "comments.0.body", "max_length"),
    (10, "key", "required"),
    (11, "priority", "invalid_choice"),
    (12, "title", "invalid"),
    (13, "history.0.kind", "invalid_choice"),
    (14, "due_date", "invalid"),
    (15, "title", "invalid"),
]


def test_records_over_the_field_limits_refuse_the_whole_import(project, client):
    before = database_state()

    answer = post(client, project, jsonl(REFUSED), "jsonl")

    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "rows_refused"
    assert body["detail"].startswith("14 record(s) would be refused, so nothing was imported")
    assert [(e["line"], e["field"], e["code"]) for e in body["errors"]] == REFUSED_FIELDS
    assert body["errors"][0]["message"] == "Line 2: At most 200 characters (this has 201)."
    assert database_state() == before


def test_a_dry_run_lists_the_refused_records_and_imports_nothing(project, client):
    before = database_state()

    answer = post(client, project, jsonl(REFUSED), "jsonl", dry_run=True)

    assert answer.status_code == 200
    report = answer.json()["report"]
    assert [(e["line"], e["field"], e["code"]) for e in report["refused"]] == REFUSED_FIELDS
    assert report["refused_count"] == 14
    assert report["create"]["issues"] == 1
    assert database_state() == before


def test_a_report_lists_the_first_entries_and_counts_them_all(project, client, settings):
    settings.IMPORT_REPORT_ITEMS = 3
    content = jsonl([{"key": f"A-{n}", "title": ""} for n in range(10)])
    report = post(client, project, content, "jsonl", dry_run=True).json()["report"]
    assert [e["line"] for e in report["refused"]] == [1, 2, 3]
    assert report["refused_count"] == 10
    answer = post(client, project, content, "jsonl")
    assert len(answer.json()["errors"]) == 3
    assert "(the first 3 are listed)" in answer.json()["detail"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"format": "jsonl"}, "file"),
        ({"format": "yaml", "file": "x"}, "format"),
        ({"file": "x"}, "format"),
        ({"format": "jsonl", "file": "x", "dry_run": "perhaps"}, "dry_run"),
    ],
)
def test_a_request_without_what_it_needs_is_a_400_naming_it(project, client, body, field):
    if "file" in body:
        body["file"] = upload('{"key": "A-1", "title": "x"}\n')
    answer = client.post(f"/api/v1/projects/{project.key}/imports", body, format="multipart")
    assert answer.status_code == 400
    assert [e["field"] for e in answer.json()["errors"]] == [field]


def test_an_import_takes_multipart_only(project, client):
    answer = client.post(
        f"/api/v1/projects/{project.key}/imports", {"format": "jsonl"}, format="json"
    )
    assert answer.status_code == 415


# -- people, labels, statuses --------------------------------------------------------------


def test_people_match_by_username_or_a_members_email(project, owner, client, jobs):
    member = UserFactory(username="Carol", email="carol@example.com")
    MembershipFactory(project=project, user=member, role=Role.REPORTER)
    UserFactory(username="dave", email="dave@example.com")  # not a member
    content = jsonl(
        [
            {"key": "A-1", "title": "x", "reporter": "carol"},
            {"key": "A-2", "title": "x", "reporter": "CAROL@example.com"},
            {"key": "A-3", "title": "x", "reporter": "dave"},
            {"key": "A-4", "title": "x", "reporter": "dave@example.com"},
        ]
    )
    report = post(client, project, content, "jsonl", dry_run=True).json()["report"]
    assert report["users"]["matched"] == [
        {"name": "CAROL@example.com", "user": "Carol"},
        {"name": "carol", "user": "Carol"},
        {"name": "dave", "user": "dave"},
    ]
    # An address tells a maintainer nothing about users outside the project.
    assert report["users"]["unmatched"] == [
        {"name": "dave@example.com", "records": 1, "becomes": "the importer"}
    ]
    run(client, project, content, "jsonl", jobs)
    reporters = Issue.objects.filter(project=project).order_by("number")
    assert [i.reporter.username for i in reporters] == ["Carol", "Carol", "dave", owner.username]


def test_labels_are_created_as_needed_and_matched_regardless_of_case(project, owner, client, jobs):
    existing = Label.objects.create(project=project, name="Bug", color="#000000")
    content = jsonl(
        [
            {"key": "A-1", "title": "x", "labels": ["bug", {"name": "New", "color": "#abcdef"}]},
            {"key": "A-2", "title": "x", "labels": ["new", "BUG", "bug"]},
        ]
    )
    report = post(client, project, content, "jsonl", dry_run=True).json()["report"]
    assert report["create"]["labels"] == ["New"]
    run(client, project, content, "jsonl", jobs)
    assert sorted(Label.objects.filter(project=project).values_list("name", "color")) == [
        ("Bug", "#000000"),
        ("New", "#ABCDEF"),
    ]
    first, second = Issue.objects.filter(project=project).order_by("number")
    assert (
        set(first.labels.all())
        == set(second.labels.all())
        == {
            existing,
            Label.objects.get(name="New"),
        }
    )


@pytest.mark.parametrize(
    "status, resolution, expected",
    [
        ("open", None, ("open", "")),
        ("New", "", ("open", "")),
        ("to do", "Unresolved", ("open", "")),
        ("Backlog", None, ("open", "")),
        ("Reopened", None, ("open", "")),
        ("in-progress", None, ("in_progress", "")),
        ("Doing", None, ("in_progress", "")),
        ("Code Review", None, ("in_review", "")),
        ("resolved", None, ("resolved", "fixed")),
        ("Done", None, ("closed", "fixed")),
        ("closed", "Won't Do", ("closed", "wont_fix")),
        ("closed", "not planned", ("closed", "wont_fix")),
        ("closed", "Duplicated", ("closed", "duplicate")),
        ("closed", "Works for me", ("closed", "cannot_reproduce")),
        ("closed", "Can't Reproduce", ("closed", "cannot_reproduce")),
        ("closed", "stale", ("closed", "obsolete")),
        ("resolved", "Completed", ("resolved", "fixed")),
        (None, None, ("open", "")),
    ],
)
def test_statuses_and_resolutions_map_through_the_table(
    project, client, jobs, status, resolution, expected
):
    run(
        client,
        project,
        jsonl([{"key": "A-1", "title": "x", "status": status, "resolution": resolution}]),
        "jsonl",
        jobs,
    )
    issue = Issue.objects.get(project=project)
    assert (issue.status, issue.resolution) == expected


def test_an_assignee_who_cannot_be_assigned_is_left_out_with_a_warning(
    project, client, jobs, people
):
    content = jsonl(
        [
            {"key": "A-1", "title": "x", "assignee": "alice"},
            {"key": "A-2", "title": "x", "assignee": "bob"},
            {"key": "A-3", "title": "x", "assignee": "nobody"},
        ]
    )
    report = post(client, project, content, "jsonl", dry_run=True).json()["report"]
    assert [(w["line"], w["field"]) for w in report["warnings"]] == [
        (2, "assignee"),
        (3, "assignee"),
    ]
    assert "'nobody' matches no user here" in report["warnings"][1]["message"]
    run(client, project, content, "jsonl", jobs)
    assignees = Issue.objects.filter(project=project).order_by("number")
    assert [i.assignee and i.assignee.username for i in assignees] == ["alice", None, None]


def test_an_unmatched_authors_name_that_would_overflow_the_text_refuses_the_record(
    project, client
):
    content = jsonl(
        [{"key": "A-1", "title": "x", "reporter": "ghost", "description": "d" * 50_000}]
    )
    report = post(client, project, content, "jsonl", dry_run=True).json()["report"]
    assert [(e["line"], e["field"]) for e in report["refused"]] == [(1, "description")]
    assert "ghost" in report["refused"][0]["message"]


# -- one at a time, and not too often ----------------------------------------------------


def test_one_import_at_a_time_per_project(project, client, maintainer, client_for):
    first = post(client, project, jsonl([{"key": "A-1", "title": "x"}]), "jsonl")
    assert first.status_code == 202  # queued: its job runs once the request commits

    second = client_for(maintainer).post(
        f"/api/v1/projects/{project.key}/imports",
        {"file": upload(jsonl([{"key": "B-1", "title": "y"}])), "format": "jsonl"},
        format="multipart",
    )

    assert second.status_code == 409
    assert second.json()["code"] == "import_running"
    assert Import.objects.count() == 1
    # A dry run still answers.
    dry = post(client, project, jsonl([{"key": "B-1", "title": "y"}]), "jsonl", dry_run=True)
    assert dry.status_code == 200


def test_starting_imports_is_throttled_per_user(project, client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "imports": "2/hour",
        },
    }
    content = jsonl([{"key": "A-1", "title": "x"}])
    for _ in range(2):
        assert post(client, project, content, "jsonl", dry_run=True).status_code == 200

    throttled = post(client, project, content, "jsonl", dry_run=True)

    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    # Reading the API goes on.
    assert client.get(f"/api/v1/projects/{project.key}/issues").status_code == 200


def test_a_multipart_field_that_is_not_utf8_is_a_400_naming_it(project, client):
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="format"\r\n\r\n'.encode()
        + b"json\xffl\r\n"
        + f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        'filename="i.jsonl"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        + b'{"key": "A-1", "title": "x"}\n\r\n'
        + f"--{boundary}--\r\n".encode()
    )
    answer = client.generic(
        "POST",
        f"/api/v1/projects/{project.key}/imports",
        body,
        f"multipart/form-data; boundary={boundary}",
    )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "format"
    assert answer.json()["errors"][0]["code"] == "invalid_unicode"
