"""Exports through the API: the job, the file (CSV header, cells, formula injection, BOM;
JSONL with comments and history), the issue list's filters, one export at a time, the
download link, and retention."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import IssueFactory
from transfers import services
from transfers.formats import CSV_COLUMNS, csv_escape, csv_unescape
from transfers.models import Export

from .helpers import download, read_csv, read_jsonl

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(owner, client_for):
    return client_for(owner)


def export(client, project, jobs, **body):
    with jobs():
        answer = client.post(f"/api/v1/projects/{project.key}/exports", body, format="json")
    assert answer.status_code == 202, answer.content
    return answer


def test_an_export_is_accepted_then_written_by_a_job(rich_project, client, owner, jobs):
    answer = export(client, rich_project, jobs, format="csv")

    body = answer.json()
    assert answer["Location"] == body["url"] == f"http://testserver/api/v1/exports/{body['id']}"
    assert body["status"] == "queued"
    assert body["requested_by"]["username"] == owner.username
    done = client.get(body["url"]).json()
    assert done["status"] == "done"
    assert done["progress"] == {"total": 3, "written": 3}
    assert done["counts"] == {"issues": 3, "comments": 0, "history": 0}
    assert done["size"] > 0
    assert done["error"] is None
    assert done["download_url"].startswith(f"http://testserver/api/v1/exports/{body['id']}/")
    expires = timezone.datetime.fromisoformat(done["download_expires_at"])
    assert timedelta(seconds=590) < expires - timezone.now() <= timedelta(seconds=600)
    stored = Export.objects.get()
    assert (stored.status, stored.written) == ("done", 3)


def test_the_csv_has_the_documented_header_and_one_row_per_issue(rich_project, client, jobs):
    answer = export(client, rich_project, jobs, format="csv")

    rows = read_csv(download(client, answer["Location"]))

    assert rows[0] == list(CSV_COLUMNS)
    assert len(rows) == 4
    first = dict(zip(rows[0], rows[1], strict=True))
    key = rich_project.key
    assert first["key"] == f"{key}-1"
    assert first["title"] == 'Login fails, "sometimes"'
    assert first["description"] == "Steps:\n- open\n- click"
    assert (first["type"], first["priority"], first["status"]) == ("bug", "high", "in_progress")
    assert first["resolution"] == ""
    assert first["reporter"] == "rita"
    assert first["labels"] == "bug,ux"
    assert first["created_at"].endswith("Z")
    closed = dict(zip(rows[0], rows[2], strict=True))
    assert (closed["status"], closed["resolution"]) == ("closed", "wont_fix")
    assert closed["closed_at"].endswith("Z")


def test_formula_cells_are_escaped_so_a_spreadsheet_shows_them_as_text(
    project, owner, client, jobs
):
    for title in ('=HYPERLINK("http://evil","x")', "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        IssueFactory(project=project, reporter=owner, title=title, description="'=already")

    rows = read_csv(download(client, export(client, project, jobs, format="csv")["Location"]))

    titles = [row[1] for row in rows[1:]]
    assert titles == ['\'=HYPERLINK("http://evil","x")', "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx"]
    # A cell that already starts with a quote before a formula gets one more, so the
    # import gives back exactly the text.
    assert {row[2] for row in rows[1:]} == {"''=already"}
    assert csv_unescape(csv_escape("'=already")) == "'=already"


def test_the_bom_option_starts_the_csv_with_one(rich_project, client, jobs):
    plain = download(client, export(client, rich_project, jobs, format="csv")["Location"])
    with_bom = download(
        client, export(client, rich_project, jobs, format="csv", bom=True)["Location"]
    )

    assert not plain.startswith(b"\xef\xbb\xbf")
    assert with_bom == b"\xef\xbb\xbf" + plain


def test_jsonl_carries_comments_and_history_on_request(rich_project, client, jobs):
    bare = read_jsonl(
        download(client, export(client, rich_project, jobs, format="jsonl")["Location"])
    )
    full = read_jsonl(
        download(
            client,
            export(client, rich_project, jobs, format="jsonl", include=["comments", "history"])[
                "Location"
            ],
        )
    )

    assert "comments" not in bare[0] and "history" not in bare[0]
    first = full[0]
    assert first["labels"] == [
        {"name": "bug", "color": "#1F883D"},
        {"name": "ux", "color": "#1F883D"},
    ]
    assert [c["body"] for c in first["comments"]] == [
        "Still happens on Safari.",
        "=1+1 looks like a formula",
    ]
    kinds = [entry["kind"] for entry in first["history"]]
    assert kinds == ["created", "changed", "commented", "transitioned", "commented"]
    commented = first["history"][2]
    assert commented["comment"] == 0 and commented["actor"] == "rita"
    closed = full[1]["history"][-1]
    assert (closed["kind"], closed["to_status"], closed["resolution"]) == (
        "transitioned",
        "closed",
        "wont_fix",
    )
    assert closed["comment"] == 0  # the comment that explained it
    assert Export.objects.order_by("-id").first().comments == 3


@pytest.mark.parametrize(
    "filters",
    [
        {"status": ["open", "closed"]},
        {"label": "bug"},
        {"label": ["bug", "ux"]},
        {"assignee": "none"},
        {"is_open": "true", "type": "bug"},
        {"reporter": "me"},
        {"search": "task"},
    ],
)
def test_filters_select_what_the_issue_list_lists(rich_project, client, jobs, filters):
    query = "&".join(
        f"{name}={value}"
        for name, values in filters.items()
        for value in (values if isinstance(values, list) else [values])
    )
    listed = client.get(f"/api/v1/projects/{rich_project.key}/issues?{query}")
    assert listed.status_code == 200

    answer = export(client, rich_project, jobs, format="jsonl", filters=filters)

    exported = read_jsonl(download(client, answer["Location"]))
    assert sorted(r["key"] for r in exported) == sorted(i["key"] for i in listed.json()["results"])


@pytest.mark.parametrize(
    "body, field",
    [
        ({"format": "xml"}, "format"),
        ({}, "format"),
        ({"format": "csv", "filters": {"status": "opened"}}, "filters.status"),
        ({"format": "csv", "filters": {"label": "nosuch"}}, "filters.label"),
        ({"format": "csv", "filters": {"assignee": "nobody-here"}}, "filters.assignee"),
        ({"format": "csv", "filters": {"assignee": ["a", "b"]}}, "filters.assignee"),
        ({"format": "csv", "filters": {"status": ["open"] * 11}}, "filters.status"),
        ({"format": "csv", "filters": {"assigne": "me"}}, "filters.assigne"),
        ({"format": "csv", "filters": {"project": "X"}}, "filters.project"),
        ({"format": "csv", "filters": {"status": 3}}, "filters.status"),
        ({"format": "csv", "filters": ["status"]}, "filters"),
        ({"format": "csv", "filters": {"created_after": "yesterday"}}, "filters.created_after"),
        ({"format": "csv", "include": ["comments"]}, "include"),
        ({"format": "jsonl", "include": ["attachments"]}, "include.0"),
        ({"format": "jsonl", "bom": True}, "bom"),
    ],
)
def test_bad_requests_are_a_400_naming_the_field(rich_project, client, body, field):
    answer = client.post(f"/api/v1/projects/{rich_project.key}/exports", body, format="json")

    assert answer.status_code == 400, answer.content
    assert field in [error["field"] for error in answer.json()["errors"]]
    assert not Export.objects.exists()


def test_one_export_at_a_time_per_person(rich_project, client, client_for, developer):
    first = client.post(f"/api/v1/projects/{rich_project.key}/exports", {"format": "csv"})
    assert first.status_code == 202

    second = client.post(f"/api/v1/projects/{rich_project.key}/exports", {"format": "jsonl"})

    assert second.status_code == 409
    assert second.json()["code"] == "export_running"
    assert second.json()["running_export"] == first.json()["id"]
    assert Export.objects.count() == 1
    # Someone else may export meanwhile.
    other = client_for(developer).post(
        f"/api/v1/projects/{rich_project.key}/exports", {"format": "csv"}
    )
    assert other.status_code == 202


def test_once_done_the_same_person_may_export_again(rich_project, client, jobs):
    export(client, rich_project, jobs, format="csv")
    export(client, rich_project, jobs, format="csv")
    assert Export.objects.filter(status="done").count() == 2


def test_the_download_link_works_without_credentials_until_it_expires(
    rich_project, client, jobs, settings
):
    url = client.get(export(client, rich_project, jobs, format="csv")["Location"]).json()[
        "download_url"
    ]
    anonymous = APIClient()
    response = anonymous.get(url, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{rich_project.key}-issues-{url.split("/")[-2]}.csv"'
    )
    assert response["Cache-Control"] == "private, no-store"

    # The link is older than links may be (as it will be EXPORT_LINK_SECONDS from now).
    settings.EXPORT_LINK_SECONDS = 0
    expired = anonymous.get(url)
    assert expired.status_code == 403
    assert "expired" in expired.json()["detail"]


@pytest.mark.parametrize("tamper", ["drop", "edit", "other_export"])
def test_a_link_that_is_not_the_services_is_refused(rich_project, client, jobs, tamper):
    first = client.get(export(client, rich_project, jobs, format="csv")["Location"]).json()
    second = client.get(export(client, rich_project, jobs, format="jsonl")["Location"]).json()
    url = first["download_url"]
    if tamper == "drop":
        url = url.split("?")[0]
    elif tamper == "edit":
        url = url[:-3] + ("abc" if not url.endswith("abc") else "xyz")
    else:  # the signature of one export on another's URL
        url = second["download_url"].replace(
            f"/exports/{second['id']}/", f"/exports/{first['id']}/"
        )

    response = APIClient().get(url)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_a_download_takes_no_other_parameter(rich_project, client, jobs):
    url = client.get(export(client, rich_project, jobs, format="csv")["Location"]).json()[
        "download_url"
    ]
    assert APIClient().get(url + "&x=1").status_code == 400


def test_the_export_job_reports_why_it_failed(
    rich_project, client, owner, developer, jobs, client_for
):
    dev = client_for(developer)
    answer = dev.post(f"/api/v1/projects/{rich_project.key}/exports", {"format": "csv"})
    rich_project.memberships.filter(user=developer).delete()  # removed before the job ran

    services.export_run(export_id=answer.json()["id"])

    stored = Export.objects.get()
    assert stored.status == "failed"
    assert stored.error == "You cannot export this project's issues."
    assert stored.file == ""
    # The owner sees why; the developer no longer sees the project at all.
    assert client.get(answer["Location"]).json()["error"] == stored.error
    assert dev.get(answer["Location"]).status_code == 404


def test_a_finished_export_is_left_alone_when_its_job_runs_again(rich_project, client, jobs):
    answer = export(client, rich_project, jobs, format="csv")
    before = Export.objects.values().get()

    services.export_run(export_id=answer.json()["id"])

    assert Export.objects.values().get() == before


def test_exports_are_deleted_after_their_time(rich_project, client, jobs, _transfers_storage):
    export(client, rich_project, jobs, format="csv")
    export_ = Export.objects.get()
    stored = _transfers_storage / export_.file
    assert stored.exists()

    services.transfers_sweep()
    assert Export.objects.exists()  # not yet
    Export.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    services.transfers_sweep()

    assert not Export.objects.exists()
    assert not stored.exists()


def test_an_export_of_a_deleted_project_goes_with_its_file(
    rich_project, client, jobs, _transfers_storage
):
    export(client, rich_project, jobs, format="csv")
    stored = _transfers_storage / Export.objects.get().file
    rich_project.delete()

    services.transfers_sweep()

    assert not Export.objects.exists()
    assert not stored.exists()


def test_an_archived_project_may_still_be_exported(rich_project, client, jobs):
    rich_project.archived_at = timezone.now()
    rich_project.save()
    answer = export(client, rich_project, jobs, format="jsonl")
    assert len(read_jsonl(download(client, answer["Location"]))) == 3


def test_jsonl_lines_are_one_json_object_each(project, owner, client, jobs):
    IssueFactory(project=project, reporter=owner, title='Line\nbreak \u2028 and "quotes"')
    content = download(client, export(client, project, jobs, format="jsonl")["Location"])
    lines = content.split(b"\n")
    assert lines[-1] == b"" and len(lines) == 2
    assert json.loads(lines[0])["title"] == 'Line\nbreak \u2028 and "quotes"'
