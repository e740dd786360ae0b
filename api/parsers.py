"""The API's parsers: DRF's, refusing JSON nested deeper than any request needs and text
that is not valid Unicode (api.unicode)."""

from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from rest_framework import exceptions, parsers

from api.unicode import as_utf8, fields_not_utf8, invalid_text_error, invalid_text_fields

# No request the API understands nests deeper than 3; Python's own parser gives up near
# 1,000 levels with a RecursionError (which was a 500).
MAX_JSON_DEPTH = 32


def nesting_exceeds(data, limit: int) -> bool:
    """Whether `data` (parsed JSON) nests lists and objects deeper than `limit` levels."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list) and depth > limit:
            return True
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; JSON nested deeper than MAX_JSON_DEPTH levels is a 400, and so is
    a lone surrogate (`"\\ud800"`) in any string or key, naming where it is."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as e:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from e
        if nesting_exceeds(data, MAX_JSON_DEPTH):
            raise exceptions.ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        invalid = invalid_text_fields(data)
        if invalid:
            raise invalid_text_error(invalid)
        return data


class FormParser(parsers.FormParser):
    """DRF's form parser (the browsable API's forms); a field that is not UTF-8 is a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read()
        invalid = fields_not_utf8(body)
        if invalid:
            raise invalid_text_error(invalid)
        return QueryDict(body, encoding="utf-8")


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser (the browsable API's forms); a field that is not UTF-8 is a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        # Decoded as latin-1, each byte stays one character, to be decoded as UTF-8 strictly
        # here (Django would put U+FFFD in place of what is not). Names and file names are
        # text already (Django read the part headers as UTF-8), so they decode.
        latin1 = {**(parser_context or {}), "encoding": "latin-1"}
        parsed = super().parse(stream, media_type, latin1)
        data, files, invalid = QueryDict(mutable=True), MultiValueDict(), []
        for name, values in parsed.data.lists():
            decoded = [as_utf8(value) for value in values]
            if None in decoded:
                invalid.append(as_utf8(name))
            data.setlist(as_utf8(name), decoded)
        if invalid:
            raise invalid_text_error(invalid)
        for name, uploads in parsed.files.lists():
            for upload in uploads:
                upload.name = as_utf8(upload.name) or upload.name
            files.setlist(as_utf8(name), uploads)
        data._mutable = False  # as Django's parser leaves it
        return parsers.DataAndFiles(data, files)
