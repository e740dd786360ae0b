"""What an event's `data` should be, from what a GET answered."""

import json

HOST = "http://testserver"


def as_event_data(answer: dict, **caller_specific) -> dict:
    """`answer` as an event records it: links as paths (an event has no request, so no
    host) and the caller-specific fields given (e.g. role=None)."""
    data = json.loads(json.dumps(answer).replace(f'"{HOST}/', '"/'))
    return {**data, **caller_specific}
