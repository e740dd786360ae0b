"""worker-kill: one gunicorn worker gets SIGKILL mid-load. gunicorn starts a new one, each
client loses at most the request it had in flight, nothing is half-written."""

import os
import signal
import time
from collections import Counter

from harness.report import check, note

from .service import WORKERS, Service
from .workload import Run, describe


def scenario_worker_kill(stack: Service, args) -> Run:
    marks = {}

    def fault(run: Run, t0: float) -> None:
        time.sleep(args.duration * 0.5)
        before = set(stack.server.workers())
        victim = min(before)
        marks["kill"] = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        note(f"SIGKILL to worker {victim} at {marks['kill'] - t0:.1f} s")
        deadline = marks["kill"] + 30
        while time.monotonic() < deadline:
            now = set(stack.server.workers())
            if len(now) == WORKERS and victim not in now:
                marks["replaced"] = time.monotonic() - marks["kill"]
                marks["new"] = now - before
                break
            time.sleep(0.05)

    run = stack.drive("worker-kill", "WKIL", args.duration, fault)
    if "kill" not in marks:
        return run
    check(
        "worker-kill: gunicorn replaces the killed worker",
        "replaced" in marks and stack.server.process.poll() is None,
        f"new worker {marks.get('new')} after {marks.get('replaced', float('nan')):.2f} s",
    )
    bad = run.server_errors()
    per_client = Counter(r.client for r in bad)
    kill = marks["kill"]
    check(
        "worker-kill: only requests in flight at the kill fail, at most one per client, no 5xx",
        all(
            r.answer.status is None and r.answer.started <= kill <= r.answer.ended + 0.5
            for r in bad
        )
        and max(per_client.values(), default=0) <= 1,
        f"{len(bad)} failed ({describe(bad)}), in {len(per_client)} clients",
    )
    run.notes.append(
        f"{len(bad)} in-flight requests lost; worker replaced in "
        f"{marks.get('replaced', float('nan')):.2f} s"
    )
    return run
