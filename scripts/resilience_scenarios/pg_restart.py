"""pg-restart: PostgreSQL stops (immediate: a crash) for --outage seconds mid-load. /ready
is 503 naming the database and the API answers JSON 503s (database_unavailable), never a
500; within RECOVERY_PROMISE seconds of the database's return requests succeed again,
without restarting gunicorn."""

import time
from collections import Counter

from harness.report import check, note

from .service import RECOVERY_PROMISE, Service
from .workload import Run, describe


def scenario_pg_restart(stack: Service, args) -> Run:
    marks = {}

    def fault(run: Run, t0: float) -> None:
        time.sleep(args.duration * 0.3)
        # The outage is the window from pg_ctl's return (server gone) to the restart's call
        # (server not yet back): a probe that overlaps either call may fairly see the database.
        stack.postgres.stop("immediate")
        marks["down"] = time.monotonic()
        note(f"PostgreSQL stopped (immediate) at {marks['down'] - t0:.1f} s")
        time.sleep(args.outage)
        marks["restarting"] = time.monotonic()
        stack.postgres.start()
        marks["back"] = time.monotonic()
        note(f"PostgreSQL accepting connections again at {marks['back'] - t0:.1f} s")

    run = stack.drive("pg-restart", "PGRS", args.duration, fault)
    if "back" not in marks:
        return run
    down, restarting, back = marks["down"], marks["restarting"], marks["back"]
    during = [r for r in run.records if down <= r.answer.started and r.answer.ended <= restarting]
    unavailable = [r for r in during if r.answer.status == 503]
    check(
        "pg-restart: during the outage the API answers JSON 503 database_unavailable",
        unavailable
        and all(
            r.answer.problem_json
            and r.answer.code == "database_unavailable"
            and r.answer.headers.get("retry-after")
            for r in unavailable
        ),
        f"{len(during)} requests during the outage, {len(unavailable)} answered 503",
    )
    wrong = [
        r
        for r in run.server_errors()
        if r.answer.status != 503 or r.answer.code != "database_unavailable"
    ]
    check(
        "pg-restart: no 500, no HTML error, no failed connection at any time",
        not wrong,
        describe(wrong),
    )
    ready_down = [a for a in run.ready if down <= a.started and a.ended <= restarting]
    check(
        "pg-restart: /ready is 503 naming the database during the outage",
        ready_down
        and all(
            a.status == 503 and "database" in (a.body or {}).get("failed", []) for a in ready_down
        ),
        f"{len(ready_down)} probes, statuses {sorted(Counter(a.status for a in ready_down))}",
    )
    after = [r for r in run.records if r.answer.started >= back]
    last_bad = max((r.answer.ended for r in run.server_errors(since=back)), default=back)
    first_ok = min((r.answer.ended for r in after if r.answer.ok), default=None)
    recovery = max(last_bad, first_ok or back) - back
    ready_ok = min((a.ended for a in run.ready if a.started >= back and a.ok), default=None)
    run.notes.append(f"recovered {recovery:.2f} s after the database returned")
    check(
        f"pg-restart: requests succeed again within {RECOVERY_PROMISE:.0f} s of the database's "
        "return, same gunicorn",
        first_ok is not None
        and recovery <= RECOVERY_PROMISE
        and stack.server.process.poll() is None,
        f"first success after {(first_ok or back) - back:.2f} s, last failure after "
        f"{last_bad - back:.2f} s, /ready 200 after "
        f"{(ready_ok - back) if ready_ok else float('nan'):.2f} s",
    )
    return run
