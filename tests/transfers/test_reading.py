"""Reading files a chunk at a time: records and their lines whatever the chunk boundaries
cut (a character, a line, an issue), GitHub's pages one after another, BOMs and line ends."""

import json

import pytest

from transfers import reading

from .helpers import upload


@pytest.fixture(params=[3, 7, 64, 1 << 20], ids=lambda n: f"chunks of {n}")
def chunk(request, monkeypatch):
    monkeypatch.setattr(reading, "CHUNK", request.param)
    return request.param


def lines_of(records):
    return [(record.line, record.data) for record in records]


def test_jsonl_records_and_their_lines(chunk):
    content = '\ufeff{"key": "A-1", "title": "caf\u00e9 \U0001f680"}\r\n\n{"key": "A-2"}\n'
    assert lines_of(reading.records(upload(content), "jsonl")) == [
        (1, {"key": "A-1", "title": "caf\u00e9 \U0001f680"}),
        (3, {"key": "A-2"}),
    ]


def test_a_last_line_without_its_end_is_read(chunk):
    assert lines_of(reading.records(upload('{"key": "A-1"}'), "jsonl")) == [(1, {"key": "A-1"})]


def test_csv_records_start_where_their_first_line_is(chunk):
    content = 'key,title,description\r\nA-1,One,"two\r\nlines"\r\nA-2,Two,\r\n'
    assert lines_of(reading.records(upload(content), "csv")) == [
        (2, {"key": "A-1", "title": "One", "description": "two\r\nlines"}),
        (4, {"key": "A-2", "title": "Two", "description": ""}),
    ]


def test_github_issues_one_at_a_time_across_pages(chunk):
    pages = [
        [{"id": 1, "title": "caf\u00e9"}, {"id": 2, "title": "[not] a {bracket}"}],
        [],
        [{"id": 3, "title": "x", "comments": [{"body": '\\"quoted\\"'}]}],
    ]
    content = "\n".join(json.dumps(page, indent=2) for page in pages)  # `gh api --paginate`

    records = lines_of(reading.records(upload(content), "github"))

    assert [data for _, data in records] == [issue for page in pages for issue in page]
    text_lines = content.split("\n")
    for line, data in records:  # each record starts on the line of its opening brace
        assert text_lines[line - 1].strip() == "{", (line, data)


def test_minified_github_json_on_one_line(chunk):
    content = json.dumps([{"id": n, "title": "t" * 50} for n in range(20)])
    assert [r.data["id"] for r in reading.records(upload(content), "github")] == list(range(20))


def test_a_character_cut_by_a_chunk_is_still_one_character(monkeypatch):
    monkeypatch.setattr(reading, "CHUNK", 1)
    content = '{"key": "A-1", "title": "\u00e9\u20ac\U0001f680"}\n'
    (record,) = reading.records(upload(content), "jsonl")
    assert record.data["title"] == "\u00e9\u20ac\U0001f680"


def test_a_byte_that_is_not_utf8_is_named_by_its_line(chunk):
    content = b'{"key": "A-1"}\n{"key": "A-2"}\n' + b'{"key": "\xc3("}\n'
    with pytest.raises(reading.FileRefused) as refused:
        list(reading.records(upload(content), "jsonl"))
    assert refused.value.extra["line"] == 3
    assert refused.value.message == "Line 3: not UTF-8 text (byte 0xc3); save the file as UTF-8."


def test_an_issue_larger_than_the_record_limit_is_refused(chunk, settings):
    settings.IMPORT_MAX_RECORD_BYTES = 1000
    content = json.dumps([{"id": 1, "title": "x"}, {"id": 2, "title": "y" * 5000}])
    with pytest.raises(reading.FileRefused) as refused:
        list(reading.records(upload(content), "github"))
    assert "an issue over 1000 characters" in refused.value.message


def test_text_after_the_arrays_is_refused():
    with pytest.raises(reading.FileRefused) as refused:
        list(reading.records(upload('[{"id": 1}]\n\nnot json'), "github"))
    assert refused.value.message.startswith("Line 3: GitHub's issues JSON is an array")
