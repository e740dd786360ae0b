"""A load generator of users: each client a thread doing a weighted mix of operations
(do_<op> methods) until told to stop, every answer recorded; drive() runs them for a while
with a fault beside them. (bench/run.py's load is wrk: harness/wrk.py.)"""

import random
import threading
import time
from dataclasses import dataclass

from .client import Answer, request


@dataclass
class Record:
    op: str
    answer: Answer
    client: int


class Client(threading.Thread):
    """One user: `token`'s bearer, `headers` on every request. A subclass declares WEIGHTS
    ({op: weight}) and a do_<op> method for each; first() names the op to start with."""

    WEIGHTS: dict[str, int] = {}

    def __init__(self, index, port, token, stop, seed, headers=None):
        super().__init__(daemon=True, name=f"client-{index}")
        self.index, self.port, self.token, self.headers = index, port, token, headers or {}
        self.stop_event = stop
        self.random = random.Random(seed)  # noqa: S311 (a workload, not a secret)
        self.records: list[Record] = []

    def call(self, op, method, path, body=None, headers=None) -> Answer:
        answer = request(
            self.port, method, path, self.token, body, {**self.headers, **(headers or {})}
        )
        self.records.append(Record(op, answer, self.index))
        return answer

    def first(self) -> str | None:
        """The op that must come before any other (None: any)."""
        return None

    def run(self):
        ops, weights = zip(*self.WEIGHTS.items(), strict=True)
        while not self.stop_event.is_set():
            op = self.first() or self.random.choices(ops, weights)[0]
            getattr(self, f"do_{op}")()


def drive(threads, stop: threading.Event, seconds: float, fault=None):
    """Start `threads` (which end once `stop` is set), run `fault(t0)` in a thread beside
    them, and after `seconds` wait for the fault (at most 120 s), set `stop` and join.
    (The seconds it all took, the exceptions the fault raised.)"""
    t0 = time.monotonic()
    for thread in threads:
        thread.start()
    failure = []
    if fault is not None:

        def inject():
            try:
                fault(t0)
            except Exception as e:  # the caller reports it
                failure.append(e)

        injector = threading.Thread(target=inject, daemon=True)
        injector.start()
    time.sleep(max(0.0, t0 + seconds - time.monotonic()))
    if fault is not None:
        injector.join(timeout=120)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return time.monotonic() - t0, failure
