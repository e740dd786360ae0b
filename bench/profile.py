#!/usr/bin/env python
"""Where a request's time goes: py-spy samples the gunicorn workers while wrk drives one
scenario, and the samples are summed per function (inclusive: a function's share counts
everything it called).

    .venv/bin/python bench/profile.py detail      # or: list
    .venv/bin/python bench/profile.py detail --seconds 20 --top 60

It needs the benchmark's database already seeded (bench/run.py --issues N, which leaves
`tracker_bench` behind), PostgreSQL, Redis, `wrk`, and py-spy (requirements/dev.txt; it
reads the workers' memory, so it runs as root or with ptrace allowed). It starts gunicorn
as bench/run.py does (production settings, 2 workers x 4 threads), warms it up, then
records both workers at 200 samples a second for --seconds while wrk keeps 8 connections
busy, and prints the share of the request-handling samples each function holds, deepest
frames last. Samples include time spent waiting on PostgreSQL and Redis inside Python
(psycopg and redis-py wait in Python code), so a round trip shows as the function that
made it. Sampling slows the workers, so read shares, not speeds.
"""

import argparse
import collections
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: bench, harness
from bench import load, scenarios
from bench.run import server_env
from bench.seed import PASSWORD
from harness import ROOT, VENV_BIN
from harness.wrk import run as wrk_run
from harness.wrk import script as wrk_script

HANDLING = "handle_request"  # gunicorn's frame under which a request is served


def paths(scenario: str, facts: dict) -> list[str]:
    if scenario == "detail":
        return [f"/api/v1/issues/{key}" for key in facts["detail_keys"]]
    return ["/api/v1/issues?page_size=50"]


def frame_name(frame: str) -> str:
    """`function (path:line)` as `function (file relative to site-packages or the repo)`."""
    match = re.match(r"(.*) \((.*?):\d+\)$", frame)
    if not match:
        return frame
    function, path = match.groups()
    path = path.split("/site-packages/")[-1].split(str(ROOT) + "/")[-1]
    return f"{function} ({path})"


def shares(files: list[Path]) -> tuple[int, list[tuple[str, float]]]:
    """Request-handling samples in py-spy's raw (collapsed) output, and each function's
    inclusive share of them, largest first."""
    total, inclusive = 0, collections.Counter()
    for file in files:
        for line in file.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            if not any(HANDLING in frame for frame in frames):
                continue  # gunicorn's own threads, between requests
            total += int(count)
            for name in {frame_name(frame) for frame in frames}:
                inclusive[name] += int(count)
    return total, [(name, n / total) for name, n in inclusive.most_common()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=["detail", "list"])
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--top", type=int, default=45)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    (tmp / "static").mkdir()
    env = server_env(tmp)
    facts = json.loads(
        scenarios.run_python(["-m", "bench.prepare", "--depth", "100"], env, True).stdout
    )
    server = load.Server(env, tmp, "gunicorn").start()
    try:
        token = scenarios.login(server, facts["caller"], PASSWORD)
        headers = {**load.HTTPS, "Authorization": f"Bearer {token}"}
        lua = wrk_script(headers, paths=paths(args.scenario, facts))
        url = f"http://127.0.0.1:{server.port}/"
        wrk_run(url, lua, tmp, 2, 8, 2)  # warm-up
        outputs = [tmp / f"worker-{pid}.txt" for pid in server.workers()]
        recorders = [
            subprocess.Popen(  # noqa: S603 - our own tool and arguments
                [
                    str(VENV_BIN / "py-spy"),
                    *("record", "--pid", output.stem.split("-")[1], "--nonblocking"),
                    *("--rate", "200", "--duration", str(args.seconds)),
                    *("--format", "raw", "--output", str(output)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for output in outputs
        ]
        figures = wrk_run(url, lua, tmp, args.seconds, 8, 2)
        for recorder in recorders:
            if recorder.wait() != 0:
                sys.exit(f"py-spy failed: {recorder.stderr.read().decode()}")
    finally:
        server.stop()
    total, ranked = shares(outputs)
    print(
        f"{args.scenario}: {figures['requests']} requests in {args.seconds} s under py-spy, "
        f"{figures['non2xx']} not 2xx; {total} request-handling samples"
    )
    for name, share in ranked[: args.top]:
        print(f"{share:6.1%}  {name}")


if __name__ == "__main__":
    main()
