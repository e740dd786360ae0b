"""load: zero 5xx; every acknowledged create, comment and transition is stored once."""

from harness.report import check

from .service import Service
from .workload import Run, describe


def scenario_load(stack: Service, args) -> Run:
    run = stack.drive("load", "LOAD", args.duration)
    bad = run.server_errors()
    check(
        "load: zero 5xx and zero failed connections",
        run.records and not bad,
        f"{len(run.records)} requests, {len(bad)} failed: {describe(bad)}",
    )
    return run
