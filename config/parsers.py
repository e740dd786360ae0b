"""The API's JSON parser: DRF's, refusing JSON nested deeper than any request needs."""

from rest_framework import exceptions, parsers

# No request the API understands nests deeper than 3; Python's own parser gives up near
# 1,000 levels with a RecursionError (which was a 500).
MAX_JSON_DEPTH = 32


def _nesting_exceeds(data, limit: int) -> bool:
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
    """DRF's JSON parser; JSON nested deeper than MAX_JSON_DEPTH levels is a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as e:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from e
        if _nesting_exceeds(data, MAX_JSON_DEPTH):
            raise exceptions.ParseError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels.")
        return data
