"""Text that is not valid Unicode is a 400 naming where it was, wherever it arrives.

JSON's `"\\ud800"` decodes to a lone surrogate, which no UTF-8 encoder accepts (the JSON
renderer, PostgreSQL): echoed in an error, it was a 500. Query strings, form bodies and
headers arrive as bytes; Django quietly decodes the ones that are not UTF-8 with U+FFFD,
so a typo'd byte searched, or was stored, as something the client never sent.
"""

from urllib.parse import unquote_to_bytes

from django.core.handlers.wsgi import WSGIRequest
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

INVALID_TEXT = "Not valid Unicode: text must be UTF-8, without lone surrogates."
INVALID_TEXT_CODE = "invalid_unicode"
# The headers the application reads as text; Authorization is a credential (a token that
# does not decode is a 401 like any other bad token).
TEXT_HEADERS = ("Idempotency-Key", "If-Match", "If-None-Match", "X-Request-ID")


def printable(text: str) -> str:
    """`text` with what UTF-8 cannot encode written as an escape (`\\ud800`), to name it."""
    return text.encode("utf-8", "backslashreplace").decode()


def invalid_text_fields(data, path: str = "") -> list[str]:
    """The paths (`labels.0`) of the strings, keys included, in parsed JSON that UTF-8
    cannot encode. Callers bound the nesting first (api.parsers)."""
    if isinstance(data, str):
        return [] if data == printable(data) else [path]
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        items = ((str(index), value) for index, value in enumerate(data))
    else:
        return []
    invalid = []
    for key, value in items:
        name = f"{path}.{printable(key)}" if path else printable(key)
        if key != printable(key):
            invalid.append(name)
        else:
            invalid += invalid_text_fields(value, name)
    return invalid


def as_utf8(latin1: str) -> str | None:
    """Bytes decoded as latin-1 (as WSGI hands over headers), decoded as UTF-8 instead;
    None if they are not UTF-8."""
    try:
        return latin1.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return None


def fields_not_utf8(urlencoded: bytes) -> list[str]:
    """The names of the fields of a query string or form body whose name or value is not
    UTF-8 once percent-decoded (each as Django names it, with U+FFFD)."""
    if unquote_to_bytes(urlencoded).isascii():
        return []  # the usual case, at a fraction of the cost of parsing
    # Decoded as latin-1, each byte stays one character, to be decoded again strictly.
    fields = QueryDict(urlencoded, encoding="latin-1")
    return [
        as_utf8(name) or name.encode("latin-1").decode("utf-8", "replace")
        for name, values in fields.lists()
        if as_utf8(name) is None or any(as_utf8(value) is None for value in values)
    ]


def invalid_text_error(fields: list[str]) -> ValidationError:
    """The 400 for `fields` holding text that is not valid Unicode."""
    return ValidationError(dict.fromkeys(fields, INVALID_TEXT), code=INVALID_TEXT_CODE)


def request_fields_not_utf8(request) -> list[str]:
    """The query parameters and TEXT_HEADERS of `request` that are not UTF-8."""
    query = request.META.get("QUERY_STRING", "")
    # WSGI hands the bytes over as latin-1 text (PEP 3333), ASGI as UTF-8 (Django's).
    query = query.encode("latin-1" if isinstance(request, WSGIRequest) else "utf-8")
    headers = request.headers
    return fields_not_utf8(query) + [
        name for name in TEXT_HEADERS if name in headers and as_utf8(headers[name]) is None
    ]
