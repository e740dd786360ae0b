"""Acceptance tests for the list query language and the API's HTTP semantics.

The helpers below read list responses the way every test in this package needs to.
"""

import re
from urllib.parse import parse_qs, urlsplit

LINK = re.compile(r'<([^>]*)>;\s*rel="([^"]+)"')


def results(response) -> list[dict]:
    """The rows of a successful list response."""
    assert response.status_code == 200, response.content
    return response.json()["results"]


def keys(response) -> list[str]:
    """The issue (or project) keys of a list response, in order."""
    return [row["key"] for row in results(response)]


def links(response) -> dict[str, str]:
    """The RFC 8288 Link header as {rel: url}."""
    return {rel: url for url, rel in LINK.findall(response.get("Link", ""))}


def query(url: str) -> dict[str, list[str]]:
    """The query parameters of a URL (blank values kept)."""
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def assert_bad_param(response, name: str) -> None:
    """A 400 problem document that names the offending parameter."""
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid"
    assert name in body["detail"]
    assert name in {error["field"] for error in body["errors"]}, body
