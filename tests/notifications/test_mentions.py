"""Reading @mentions out of Markdown: names, not addresses, paths or code."""

import pytest

from notifications.mentions import MAX_MENTIONS, candidates, mentioned_names


@pytest.mark.parametrize(
    "text, names",
    [
        ("@alice please look", ["alice"]),
        ("cc @Alice and @bob.", ["alice", "bob."]),
        ("(@carol) [@dave] @erin, @frank!", ["carol", "dave", "erin", "frank"]),
        ("the bot @web-ci+bot ran", ["web-ci+bot"]),
        ("@alice @ALICE @alice", ["alice"]),
        ("line one\n@alice on line two", ["alice"]),
        ("> quoting @alice", ["alice"]),
    ],
)
def test_names_are_read_in_order_once_lowercased(text, names):
    assert mentioned_names(text) == names


@pytest.mark.parametrize(
    "text",
    [
        "mail bob@example.com about it",
        "see https://social.example/@alice",
        "@@alice",
        "a lone @ sign",
        "",
        None,
    ],
)
def test_addresses_paths_and_lone_signs_mention_nobody(text):
    assert mentioned_names(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "use `@property` here",
        "two ``@decorated `with` ticks`` spans",
        "```python\n@dataclass\nclass A: ...\n```",
        "~~~\n@alice in a tilde fence\n~~~",
        "````\n```\n@alice inside a longer fence\n````",
        "text\n\n    @indented code\n    @more code",
        "\t@tab indented code",
    ],
)
def test_code_spans_and_blocks_mention_nobody(text):
    assert mentioned_names(text) == []


def test_text_after_code_still_mentions():
    text = "```\n@dataclass\n```\nthanks @alice, and `@x` but @bob\n\n    @code\nback @carol"
    assert mentioned_names(text) == ["alice", "bob", "carol"]


def test_an_indented_line_inside_a_paragraph_is_text():
    # An indented code block cannot interrupt a paragraph (CommonMark).
    assert mentioned_names("a paragraph\n    @alice continues it") == ["alice"]


def test_an_unclosed_fence_runs_to_the_end():
    assert mentioned_names("```\n@alice\n@bob") == []


def test_at_most_so_many_names_are_read():
    text = " ".join(f"@user{i}" for i in range(MAX_MENTIONS + 20))
    assert len(mentioned_names(text)) == MAX_MENTIONS


def test_sentence_punctuation_is_tried_off_the_name():
    assert candidates("alice.") == ["alice.", "alice"]
    assert candidates("alice") == ["alice"]
    assert candidates("web-ci+bot") == ["web-ci+bot"]
