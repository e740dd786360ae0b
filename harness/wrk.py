"""wrk, the load generator that saturates a server (bench/run.py): a Lua script per
scenario, and its figures read back as JSON."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPORT = """
response = function(status, headers, body)
  if observe then observe(status, body) end
  if status > 299 then
    local text = string.sub(body, 1, 300):gsub('\\n', ' ')
    io.write('BENCH_FAILED ' .. status .. ' ' .. text .. '\\n')
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "bytes": %d, "non2xx": %d, '
    .. '"socket_errors": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, summary.bytes, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


def script(headers: dict, method="GET", path=None, paths=None, body=None, lua="") -> str:
    """A wrk Lua script: a fixed request, a rotation over `paths`, or `lua`'s own
    `request` (and `observe(status, body)`, called with every answer). `nthreads` in it
    becomes wrk's thread count."""
    lines = [f"wrk.method = {lua_string(method)}"]
    for name, value in headers.items():
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    if body is not None:
        lines.append(f"wrk.body = {lua_string(body)}")
        lines.append('wrk.headers["Content-Type"] = "application/json"')
    if path is not None:
        lines.append(f"wrk.path = {lua_string(path)}")
    if paths:
        lines.append("local paths = {" + ", ".join(lua_string(p) for p in paths) + "}")
        lines.append(
            "local i = math.random(#paths)\n"
            "request = function()\n"
            "  i = i % #paths + 1\n"
            "  return wrk.format(nil, paths[i])\n"
            "end"
        )
    if lua:
        lines.append(lua)
    return "\n".join(lines) + "\n" + REPORT


def run(url: str, lua: str, folder: Path, seconds: float, connections: int, threads: int):
    """wrk against `url` with the script `lua`: its figures (requests, duration_us, bytes,
    non2xx, socket_errors, p50_us ... max_us) and the first failed answers."""
    path = folder / "scenario.lua"
    path.write_text(lua.replace("nthreads", str(threads)))
    done = subprocess.run(  # noqa: S603
        [
            shutil.which("wrk"),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(path),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"^BENCH (.*)$", done.stdout, re.MULTILINE)
    if not match:
        sys.exit(f"wrk printed no report:\n{done.stdout}\n{done.stderr}")
    report = json.loads(match.group(1))
    # What the non-2xx answers said (status and the start of the body), to tell why.
    report["failed"] = re.findall(r"^BENCH_FAILED (.*)$", done.stdout, re.MULTILINE)[:5]
    return report
